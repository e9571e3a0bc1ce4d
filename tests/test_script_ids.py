"""Explicit line ids in bracket scripts: ``[Alice|id:intro_01] Hello.`` (voice assets)."""

from __future__ import annotations

import pytest

from ttsbuild.core.errors import ScriptError
from ttsbuild.sources.identity import assign_uids, derived_uid
from ttsbuild.sources.script import Utterance, parse_script


def utterances(text: str) -> list[Utterance]:
    return [i for i in assign_uids(parse_script(text, "ep.txt")) if isinstance(i, Utterance)]


def test_an_id_names_the_next_text_only_and_parameters_stay():
    items = utterances(
        "[Alice|id:intro_01] Hello.\n[Alice] Alice again.\n[Bob|speed:0.9|id:b.1] Hi. [pause:1s]"
        " Again.\nThe narrator.\n"
    )
    assert [(u.speaker, u.text, u.uid) for u in items] == [
        ("alice", "Hello.", "intro_01"),
        ("alice", "Alice again.", derived_uid("alice", "Alice again.")),
        ("bob", "Hi.", "b.1"),
        ("bob", "Again.", derived_uid("bob", "Again.")),
        ("narrator", "The narrator.", derived_uid("narrator", "The narrator.")),
    ]
    # the parameters stay for the rest of the line, the id names only the next text
    assert items[2].params == items[3].params == (("speed", 0.9),)
    assert items[4].params == ()


def test_an_id_starts_a_new_utterance_and_merged_text_keeps_it():
    items = utterances("[Alice|id:a] One. [Alice|id:b] Two.\n[Bob|id:c] Three. [Bob] Four.\n")
    assert [(u.text, u.uid) for u in items] == [("One.", "a"), ("Two.", "b"), ("Three. Four.", "c")]


@pytest.mark.parametrize(
    "text,message",
    [
        ("[Alice|id:x] a\n[Bob|id:x] b\n", "ep.txt:2: line id 'x' is also used on line 1"),
        ("Hi [Alice|id:x]\n", "ep.txt:1: line id 'x' has no text after it on its line"),
        ("[Alice|id:x|id:y] a\n", "ep.txt:1: two line ids before one text"),
        ("[Alice|id:] a\n", "ep.txt:1: bad line id ''"),
        ("[Alice|speed:x|id:a] a\n", "ep.txt:1: bad parameter 'speed:x'"),
    ],
)
def test_bad_ids_are_one_located_error(text, message):
    with pytest.raises(ScriptError) as exc:
        parse_script(text, "ep.txt")
    assert str(exc.value).startswith(message)


def test_indonesian_is_still_a_language_tag():
    (u,) = utterances("[id:Budi] Halo.\n")
    assert (u.speaker, u.language) == ("budi", "id")
