"""Voice assets: file names from line ids, and what changed since the last build (pure).

A manifest entry (:class:`AssetEntry`) carries what a line's file is made of: its text, its
voice (engine, version, model, reference content, language), its parameters (seed included)
and the mastering settings. :func:`diff_assets` compares two builds' entries by id and says
for each changed line which of those changed, so a CI job can post "3 lines changed in this
drop" and fail on policy.

Imports: core.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ttsbuild.core.errors import AssetError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: Names Windows reserves for devices, with any suffix (``con.ogg``): never a file name.
_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com\d|lpt\d)(?:\.|$)", re.IGNORECASE)
_DERIVED = re.compile(r"^u[0-9a-f]{10}(?:-\d+)?$")  # ttsbuild.sources.identity.derived_uid
#: The longest line id a file is named after (most file systems allow 255 bytes a name).
MAX_ID_CHARS = 200


def asset_stems(
    ids: Sequence[str],
    template: str = "{id}",
    strip_prefix: str = "",
    where: Mapping[str, str] | None = None,
    fields: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, str]:
    """The file name (without suffix) of each line id: ``template`` filled in (``{id}`` is the
    id less ``strip_prefix``; ``fields`` gives each id's other fields, e.g. ``{character}``),
    kept as it is when it is a safe file name; otherwise with unsafe characters as ``_`` plus
    6 hex digits of the id's hash (two ids that differ only in case both get the suffix, for
    case-insensitive file systems, and so do Windows device names such as ``con``). Two lines that would still share a file name, or an id
    longer than :data:`MAX_ID_CHARS`, raise :class:`AssetError` naming the lines (``where``:
    each id's ``file:line``).

    >>> asset_stems(["intro_01", "line:5837f2"])
    {'intro_01': 'intro_01', 'line:5837f2': 'line_5837f2-93abd3'}
    >>> asset_stems(["line:5837f2"], strip_prefix="line:")
    {'line:5837f2': '5837f2'}
    """
    where = where or {}
    raw: dict[str, str] = {}
    for uid in ids:
        if len(uid) > MAX_ID_CHARS:
            raise AssetError(
                f"{where.get(uid, uid[:40] + '...')}: this line's id is {len(uid)} characters "
                f"long; a voice file is named after it, so ids are limited to {MAX_ID_CHARS}"
            )
        short = uid[len(strip_prefix) :] if strip_prefix and uid.startswith(strip_prefix) else uid
        try:
            raw[uid] = template.format(**{**(fields or {}).get(uid, {}), "id": short})
        except (KeyError, IndexError, ValueError) as exc:
            raise AssetError(
                f"assets.name {template!r} cannot be filled in ({exc!r}): use {{id}}, "
                "{episode}, {character} or {line}"
            ) from None
    folded: dict[str, int] = {}
    for stem in raw.values():
        folded[stem.casefold()] = folded.get(stem.casefold(), 0) + 1
    stems: dict[str, str] = {}
    for uid, stem in raw.items():
        safe = _UNSAFE.sub("_", stem).lstrip(".") or "_"
        if safe != stem or folded[stem.casefold()] > 1 or _RESERVED.match(stem):
            safe = f"{safe}-{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:6]}"
        stems[uid] = safe
    owner: dict[str, str] = {}
    for uid, stem in stems.items():
        other = owner.setdefault(stem.casefold(), uid)
        if other != uid:
            raise AssetError(
                f"{where.get(uid, uid)}: line id {uid!r} would be written to the same file as "
                f"line id {other!r} ({where.get(other, other)}): {stem!r}; rename one of the "
                "ids, or change assets.name"
            )
    return stems


def is_derived(uid: str) -> bool:
    """True for an id ttsbuild derived from speaker and text (the source gave none)."""
    return bool(_DERIVED.match(uid))


@dataclass(frozen=True)
class AssetEntry:
    """One line's file in the manifest. ``fingerprint`` hashes everything that shapes the
    file's bytes (segment keys, mastering settings, the asset pipeline version)."""

    id: str
    file: str  # relative to the manifest
    character: str
    text: str
    language: str
    line: int
    segments: tuple[str, ...]  # segment keys, in order (a long line has several chunks)
    voice: Mapping[str, str]
    params: Mapping[str, float]
    mastering: str  # digest of the mastering settings
    fingerprint: str
    duration: float = 0.0
    sha256: str = ""
    levels: Mapping[str, Any] = field(
        default_factory=dict
    )  # loudness, true peak, gain, normalization
    direction: str = ""  # the writers' note on the line (Yarn `// note`, a table's notes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["segments"] = list(self.segments)
        data["voice"] = dict(self.voice)
        data["params"] = dict(self.params)
        data["levels"] = dict(self.levels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssetEntry:
        return cls(
            str(data["id"]),
            str(data["file"]),
            str(data["character"]),
            str(data["text"]),
            str(data["language"]),
            int(data["line"]),
            tuple(str(k) for k in data["segments"]),
            {str(k): str(v) for k, v in data["voice"].items()},
            {str(k): float(v) for k, v in data["params"].items()},
            str(data["mastering"]),
            str(data["fingerprint"]),
            float(data.get("duration", 0.0)),
            str(data.get("sha256", "")),
            dict(data.get("levels") or {}),
            str(data.get("direction", "")),
        )


#: What a changed line's report names, and how each is read off an entry.
_ASPECTS: tuple[tuple[str, Callable[[AssetEntry], object]], ...] = (
    ("text", lambda e: e.text),
    ("voice", lambda e: (e.character, e.language, sorted(e.voice.items()))),
    ("parameters", lambda e: sorted((k, v) for k, v in e.params.items() if k != "seed")),
    ("mastering", lambda e: e.mastering),
    ("file", lambda e: e.file),
)


def what_changed(old: AssetEntry, new: AssetEntry) -> list[str]:
    """Which aspects differ; ``render`` when only the segments do (a new engine pipeline).
    The seed counts as a parameter only when the text is the same: a derived seed follows
    the text, so a text edit changes it too."""
    aspects = [name for name, get in _ASPECTS if get(old) != get(new)]
    if "text" not in aspects and old.params.get("seed") != new.params.get("seed"):
        aspects = sorted({*aspects, "parameters"}, key=[a for a, _ in _ASPECTS].index)
    if not aspects and old.fingerprint != new.fingerprint:
        aspects = ["render"]
    return aspects


def _edited_derived(
    old: Sequence[AssetEntry], new: Sequence[AssetEntry], new_ids: set[str]
) -> dict[str, str]:
    """New derived id -> old derived id, for a line whose text was edited: its derived id
    changed, but it is by the same character at the same place (the same source line, or
    right after the same surviving line) as a line that is gone."""
    old_ids = {e.id for e in old}
    gone = {e.id for e in old if e.id not in new_ids and is_derived(e.id)}

    def places(entries: Sequence[AssetEntry], i: int) -> tuple[tuple[str, int], tuple[str, str]]:
        e = entries[i]
        return (e.character, e.line), (e.character, entries[i - 1].id if i else "")

    by_place: dict[tuple[str, object], str] = {}
    for i, e in enumerate(old):
        if e.id in gone:
            for place in places(old, i):
                by_place.setdefault(place, e.id)
    pairs: dict[str, str] = {}
    for i, e in enumerate(new):
        if e.id in old_ids or not is_derived(e.id):
            continue
        for place in places(new, i):
            was = by_place.get(place)
            if was is not None and was in gone:
                pairs[e.id] = was
                gone.discard(was)
                break
    return pairs


def diff_assets(old: Iterable[AssetEntry], new: Iterable[AssetEntry]) -> dict[str, Any]:
    """The change report between two builds' entries (by id, in the new build's order).

    >>> e = AssetEntry("a", "ep/a.wav", "bob", "Hi.", "en", 1, ("k1",), {}, {}, "m", "f1")
    >>> d = diff_assets([e], [e, AssetEntry("b", "ep/b.wav", "bob", "Yo.", "en", 2, ("k2",),
    ...                                      {}, {}, "m", "f2")])
    >>> d["added"], d["changed"], d["removed"], d["unchanged"]
    (['b'], [], [], 1)
    """
    previous = list(old)
    before = {e.id: e for e in previous}
    after = list(new)
    ids = {e.id for e in after}
    pairs = _edited_derived(previous, after, ids)
    added = [e.id for e in after if e.id not in before and e.id not in pairs]
    changed: list[dict[str, Any]] = []
    for e in after:
        if e.id in pairs:
            was = before[pairs[e.id]]
            changed.append({"id": e.id, "was": was.id, "what": what_changed(was, e)})
        elif e.id in before and what_changed(before[e.id], e):
            changed.append({"id": e.id, "what": what_changed(before[e.id], e)})
    paired = set(pairs.values())
    removed = [uid for uid in before if uid not in ids and uid not in paired]
    unchanged = len(after) - len(added) - len(changed)
    total = len(added) + len(changed) + len(removed)
    return {
        "added": added,
        "changed": changed,
        "removed": removed,
        "unchanged": unchanged,
        "summary": (
            f"{total} line{'s' if total != 1 else ''} changed in this drop: {len(added)} added, "
            f"{len(changed)} changed, {len(removed)} removed, {unchanged} unchanged"
        ),
    }
