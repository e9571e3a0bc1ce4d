"""Final Draft (``.fdx``) screenplays: the typed paragraphs of ``FinalDraft/Content``.

XML is read with ``defusedxml`` (SAX, so every paragraph keeps its line): a document that
declares entities (the "billion laughs" attack) or points at external ones is refused with one
line, and nothing is expanded. Only the script's own ``<Content>`` is read: the title page,
headers and footers, element settings, SmartType lists, script notes and every other
settings block are skipped. A paragraph's text is the concatenation of its ``<Text>`` runs
(styles ignored). ``<DualDialogue>`` paragraphs are spoken one after the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

from ttsbuild.core.errors import SourceError
from ttsbuild.core.lines import refuse_controls
from ttsbuild.sources.common import BREAKS, SourceOptions, Speech, narration, normalize_speaker
from ttsbuild.sources.script import ScriptItem

# Paragraph types and the element they are; dialogue types are handled on their own.
_ELEMENT = {
    "action": "action",
    "general": "action",
    "scene heading": "scene_headings",
    "shot": "scene_headings",
    "transition": "transitions",
    "lyrics": "lyrics",
}
# Blocks inside a script that are never its text, wherever they appear.
_SKIPPED = {
    "ScriptNote",
    "ScriptNotes",
    "TitlePage",
    "HeaderAndFooter",
    "ElementSettings",
    "SmartType",
    "Revisions",
    "PageLayout",
    "DisplayBoards",
    "SceneProperties",
}


@dataclass
class _Paragraph:
    type: str
    line: int
    runs: list[str] = field(default_factory=list)


class _Handler(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.open: list[_Paragraph] = []
        self.paragraphs: list[_Paragraph] = []  # in the order they start (a wrapper first)
        self.in_text = 0
        self.skipped = 0  # how many open elements are settings blocks (never the script)

    def _line(self) -> int:
        locator: Any = getattr(self, "_locator", None)
        return int(locator.getLineNumber()) if locator is not None else 0

    def _in_script(self) -> bool:
        """Inside ``FinalDraft/Content`` and no skipped block: O(1) per event, whatever the
        nesting depth (the stack was rescanned per event: quadratic in the depth)."""
        return (
            not self.skipped
            and len(self.stack) >= 2
            and self.stack[0] == "FinalDraft"
            and self.stack[1] == "Content"
        )

    def startElement(self, name: str, attrs: Any) -> None:
        if not self.stack and name != "FinalDraft":
            raise SourceError(
                f"not a Final Draft file: the root element is <{name}>, not <FinalDraft>",
                None,
                self._line(),
            )
        self.stack.append(name)
        self.skipped += name in _SKIPPED
        if not self._in_script():
            return
        if name == "Paragraph":
            paragraph = _Paragraph(str(attrs.get("Type", "")), self._line())
            self.open.append(paragraph)
            self.paragraphs.append(paragraph)  # at its start: a wrapper precedes what it holds
        elif name == "Text" and self.open and self.stack[-2] == "Paragraph":
            self.in_text += 1

    def endElement(self, name: str) -> None:
        if self._in_script():
            if name == "Paragraph" and self.open:
                self.open.pop()
            elif name == "Text" and self.in_text:
                self.in_text -= 1
        self.skipped -= name in _SKIPPED
        self.stack.pop()

    def characters(self, content: str) -> None:
        if self.in_text and self.open and self._in_script():
            self.open[-1].runs.append(content)


def _read(data: bytes, path: str) -> list[_Paragraph]:
    from defusedxml import DefusedXmlException
    from defusedxml.sax import parseString

    handler = _Handler()
    data = _as_utf8(data, path)
    try:
        parseString(data, handler, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except SAXParseException as exc:
        raise SourceError(
            f"not well-formed XML: {exc.getMessage()} (column {(exc.getColumnNumber() or 0) + 1})",
            path,
            exc.getLineNumber(),
        ) from None
    except DefusedXmlException as exc:
        raise SourceError(
            f"refused: the file declares XML entities or external references ({type(exc).__name__}"
            "); a Final Draft file has none, so it is not read (entity expansion is unsafe)",
            path,
            handler._line() or None,
        ) from None
    except SourceError as exc:
        raise SourceError(exc.bare_message, path, exc.line) from None
    if handler.stack == [] and not handler.paragraphs and b"<Content" not in data:
        raise SourceError("a Final Draft file without <Content>: nothing to read", path)
    return handler.paragraphs


_DECLARED = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")
_DECLARED_TEXT = re.compile(_DECLARED.pattern.decode())
#: What expat decodes by itself; any other declared encoding is decoded here first.
_EXPAT = {"utf-8", "utf-16", "iso-8859-1", "latin-1", "us-ascii", "ascii"}


def _as_utf8(data: bytes, path: str) -> bytes:
    """``data`` with a declared encoding expat cannot read (``shift_jis``, ``cp1252``...) decoded
    by Python and re-declared as UTF-8; an unknown or wrong encoding is one located line."""
    m = _DECLARED.match(data[:400])
    if m is None or m.group(2).decode().lower() in _EXPAT:
        return data
    name = m.group(2).decode()
    try:
        text = data.decode(name)
    except LookupError:
        raise SourceError(f"the file declares an unknown text encoding {name!r}", path, 1) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not valid {name}, the encoding the file declares (byte 0x{data[exc.start]:02x})",
            path,
            line,
        ) from None
    declared = _DECLARED_TEXT.match(text)
    if declared is None:  # the declaration did not survive decoding: let expat say so
        return data
    return (declared.group(1) + "utf-8" + text[declared.end(2) :]).encode("utf-8")


def parse_fdx(text: str | bytes, path: str, options: SourceOptions) -> list[ScriptItem]:
    """Final Draft XML to utterances, in order.

    ``text`` may be the raw bytes (preferred: XML declares its own encoding) or text.

    >>> from ttsbuild.sources.common import default_options
    >>> doc = ('<FinalDraft><Content><Paragraph Type="Character"><Text>ANN (V.O.)</Text>'
    ...        '</Paragraph><Paragraph Type="Dialogue"><Text Style="Bold">Hi, </Text>'
    ...        '<Text>you.</Text></Paragraph></Content></FinalDraft>')
    >>> [(u.speaker, u.text) for u in parse_fdx(doc, "x.fdx", default_options())]
    [('ann', 'Hi, you.')]
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    items: list[ScriptItem] = []
    speech: Speech | None = None

    def finish() -> None:
        nonlocal speech
        if speech is not None:
            items.extend(speech.utterances())
            speech = None

    for para in _read(data, path):
        kind = para.type.strip().casefold()
        body = "".join(para.runs)
        refuse_controls(body, path, SourceError, para.line)
        if kind == "character":
            finish()
            speaker = normalize_speaker(body)
            if not speaker:
                raise SourceError("empty Character paragraph", path, para.line)
            speech = Speech(speaker, para.line)
        elif kind == "parenthetical":
            if speech is not None:
                speech.direct(para.line, body, options)
        elif kind == "dialogue":
            if speech is None:
                if body.strip():
                    raise SourceError(
                        "a Dialogue paragraph without a Character paragraph before it",
                        path,
                        para.line,
                    )
                continue
            speech.add(para.line, body)
        elif kind == "" and not body.strip():
            continue  # a wrapper, e.g. the paragraph holding <DualDialogue>
        else:
            finish()
            element = _ELEMENT.get(kind)
            if element in BREAKS:
                items.extend(options.scene_break(element, para.line))
            if element is not None and options.narrates(element):
                if element in BREAKS:
                    body = options.spoken_heading(element, body)
                items.extend(narration(para.line, body))
    finish()
    return items
