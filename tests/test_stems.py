"""Stem file names (assembly/stems.py): one safe, distinct file per character, whatever the
character is called."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.assembly.stems import SOUNDS_STEM, stem_names

#: Most file systems allow 255 bytes a name; the stem adds ".wav" and maybe "-N".
MAX_NAME_BYTES = 240


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def test_long_names_fit_a_file_system_and_stay_distinct():
    # a 300-character cue made a 304-byte file name: ENAMETOOLONG when the stem was written
    owners = ["x" * 300, "x" * 299 + "y", "日本" * 150, "Émile " * 60]
    names = stem_names(owners)
    assert all(len(n.encode()) + len(".wav") <= MAX_NAME_BYTES for n in names.values())
    assert len({_folded(n) for n in names.values()}) == len(owners)
    assert names["x" * 300].startswith("x" * 50)


@given(st.lists(st.text(min_size=0, max_size=300), unique=True, max_size=12))
def test_every_owner_gets_its_own_safe_name(owners):
    names = stem_names(owners)
    assert list(names) == owners
    assert len({_folded(n) for n in names.values()}) == len(owners)
    for owner, name in names.items():
        assert name and "/" not in name and "\x00" not in name and name not in (".", "..")
        assert len(name.encode()) + len(".wav") <= MAX_NAME_BYTES
        assert (name == SOUNDS_STEM) == (owner == "")
