"""Utterance identity (uid) and the source dispatcher."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.core.errors import SourceError
from ttsbuild.sources import read_items, source_format
from ttsbuild.sources.common import default_options, normalize_speaker
from ttsbuild.sources.fountain import parse_fountain
from ttsbuild.sources.identity import assign_uids, derived_uid
from ttsbuild.sources.script import Utterance


def uids(text: str) -> dict[str, str]:
    items = assign_uids(parse_fountain(text, "x.fountain", default_options()))
    return {u.text: u.uid for u in items if isinstance(u, Utterance)}


DRAFT = "\nBOB\nOne.\n\nANN\nTwo.\n\nBOB\nThree.\n\nANN\nFour.\n"


def test_redraft_keeps_the_other_speeches_uids():
    before = uids(DRAFT)
    after = uids(
        DRAFT.replace("Two.", "Two, changed.")  # edit one
        .replace("\nBOB\nThree.\n", "\nBOB\nThree.\n\nCAL\nNew.\n")  # insert one
        .replace("\nANN\nFour.\n", "")  # delete one
    )
    assert after["One."] == before["One."] and after["Three."] == before["Three."]
    assert after["Two, changed."] not in before.values()


def test_repeats_are_numbered_and_sources_own_ids_win():
    a = Utterance(1, "bob", None, (), "Hi.")
    b = Utterance(2, "bob", None, (), "Hi.", "line:x1")
    out = assign_uids([a, b, a])
    assert [u.uid for u in out] == [
        derived_uid("bob", "Hi."),
        "line:x1",
        derived_uid("bob", "Hi.") + "-2",
    ]


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_uid_ignores_layout_but_not_words(speaker, text):
    assert derived_uid(speaker, text) == derived_uid(speaker.casefold(), f"  {text}\n")
    assert derived_uid(speaker, text + " x") != derived_uid(speaker, text)


def test_speaker_normalization():
    assert normalize_speaker("DICK STEEL (O.S.) (CONT’D)") == "dick steel"
    assert normalize_speaker("“Lefty” O’Doul") == '"lefty" o\'doul'


@pytest.mark.parametrize(
    "path,explicit,fmt",
    [
        ("a.txt", None, "script"),
        ("a.srt", None, "srt"),
        ("a.FOUNTAIN", None, "fountain"),
        ("a.fdx", None, "fdx"),
        ("a.csv", None, "table"),
        ("a.tsv", None, "table"),
        ("a.txt", "play", "play"),
        ("a.dat", "table", "table"),
        ("a.mp3", None, None),
    ],
)
def test_format_by_extension_or_config(path, explicit, fmt):
    assert source_format(path, explicit) == fmt


def test_read_items_reads_the_whole_file_and_names_it(tmp_path):
    (tmp_path / "ep.csv").write_text("id,text\n1,Hi.\n2,Ho,extra\n")
    with pytest.raises(SourceError, match=r"^eps/ep.csv:3: this row has 3 fields"):
        read_items(tmp_path / "ep.csv", None, default_options(), "eps/ep.csv")
    with pytest.raises(SourceError, match=r"^eps/missing.fdx: fdx file not found"):
        read_items(tmp_path / "missing.fdx", None, default_options(), "eps/missing.fdx")
