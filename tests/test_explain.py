"""reports/explain: why a segment will render, from the same identity the key hashes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ttsbuild.config import project_from_config
from ttsbuild.core.audio import Audio, write_audio
from ttsbuild.core.request import RenderRequest, Voice
from ttsbuild.planning.key import segment_key
from ttsbuild.planning.plan import Segment
from ttsbuild.planning.planner import Planner
from ttsbuild.reports.explain import (
    SidecarIndex,
    explain_plan,
    explain_segment,
    request_differences,
)
from ttsbuild.store.segments import Sidecar, segment_path, write_sidecar

OLD = RenderRequest("Hello.", "fake", "1", "m", "en", Voice("/v.wav", "aaa"), (("speed", 1.0),), 7)


def _store_old(store) -> None:
    key = segment_key(OLD)
    write_audio(segment_path(store, key), Audio.silence(1600, 16000))
    write_sidecar(store, Sidecar(key, OLD, "ep.txt:3", "alice", 0.1, 1600, 16000))


def _segment(request: RenderRequest, speaker: str = "alice") -> Segment:
    return Segment(segment_key(request), 3, 0, 1, speaker, request)


def test_differences_come_from_the_identity():
    new = dataclasses.replace(OLD, voice=Voice("/moved.wav", "bbb"), params=(("speed", 1.2),))
    assert request_differences(OLD.identity(), new.identity()) == [
        "changed voice (the reference's content differs)",
        "changed parameter speed: 1 -> 1.2",
    ]
    moved = dataclasses.replace(OLD, voice=Voice("/elsewhere.wav", "aaa"))
    assert request_differences(OLD.identity(), moved.identity()) == []


def test_explain_names_the_change_against_the_stored_sidecar(tmp_path):
    store = tmp_path / "store"
    _store_old(store)
    index = SidecarIndex(store)
    stored = explain_segment(_segment(OLD), "ep.txt:3", store, index)
    assert stored.stored and not stored.reasons
    faster = dataclasses.replace(OLD, params=(("speed", 1.5),))
    why = explain_segment(_segment(faster), "ep.txt:3", store, index)
    assert not why.stored
    assert why.reasons[0].startswith("changed parameter speed: 1 -> 1.5")
    other = explain_segment(_segment(OLD, "bob"), "ep.txt:3", store, index)
    assert other.stored  # same request, same key: a speaker name alone changes nothing


CONFIG = {
    "engine": "fake",
    "characters": {"narrator": {}, "alice": {}},
    "episodes": {"ep": {"source": "ep.txt"}},
}


def _plan(root: Path, script: str):
    (root / "ep.txt").write_text(script)
    return Planner(project_from_config(CONFIG, root)).plan_episode("ep")


def _store_as_rendered(store: Path, plan) -> None:
    store.mkdir(parents=True, exist_ok=True)
    for seg in plan.segments():
        write_sidecar(
            store,
            Sidecar(seg.key, seg.request, f"{plan.source}:{seg.line}", seg.speaker, 0.1, 10, 16000),
        )
        segment_path(store, seg.key).write_bytes(b"")


def test_an_inserted_line_is_new_and_an_edited_line_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    store = tmp_path / "store"
    _store_as_rendered(store, _plan(tmp_path, "First line.\n[Alice] Second line.\n"))
    inserted = _plan(tmp_path, "First line.\nA line put in between.\n[Alice] Second line.\n")
    reasons = {
        e.segment.text: e.reasons for e in explain_plan(inserted, store, SidecarIndex(store))
    }
    assert reasons == {
        "First line.": (),
        "A line put in between.": ("new line: no earlier render of this line or text",),
        "Second line.": (),  # moved to line 3, still stored
    }
    edited = _plan(tmp_path, "First line.\n[Alice] Second line, edited.\n")
    (why,) = [e.reasons for e in explain_plan(edited, store, SidecarIndex(store)) if e.reasons]
    assert why == ("changed text (was: 'Second line.')",)


def test_explain_lists_deleted_lines(tmp_path, monkeypatch):
    # (issue 26) explain said nothing about a deleted line
    from ttsbuild.reports.explain import deleted_lines

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    store = tmp_path / "store"
    first = _plan(tmp_path, "First line.\n[Alice] Second line.\nThird line.\n")
    _store_as_uid_rendered(store, first)
    after = _plan(tmp_path, "First line.\nThird line.\n")
    (gone,) = deleted_lines(after, SidecarIndex(store))
    assert (gone.where, gone.speaker, gone.request.text) == ("ep.txt:2", "alice", "Second line.")
    assert deleted_lines(first, SidecarIndex(store)) == []  # nothing gone from the original


def _store_as_uid_rendered(store: Path, plan) -> None:
    store.mkdir(parents=True, exist_ok=True)
    for seg in plan.segments():
        where = f"{plan.source}:{seg.line}"
        side = Sidecar(seg.key, seg.request, where, seg.speaker, 0.1, 10, 16000, uid=seg.uid)
        write_sidecar(store, side)
        segment_path(store, seg.key).write_bytes(b"")


def test_gc_matches_a_variant_by_line_identity_not_line_number(tmp_path, monkeypatch):
    # (issue 26) gc explained a deleted line by comparing it with whichever line had its number
    from ttsbuild.reports.variants import current_segments, variant_of
    from ttsbuild.store.segments import read_sidecar

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    store = tmp_path / "store"
    first = _plan(tmp_path, "First line.\n[Alice] Second line.\n[Alice] Third line.\n")
    _store_as_uid_rendered(store, first)
    after = _plan(tmp_path, "First line.\n[Alice] Third line.\n")  # line 2 deleted
    current = current_segments({"ep": after}, store)
    deleted = next(s for s in first.segments() if s.text == "Second line.")
    side = read_sidecar(store, deleted.key)
    assert side is not None and side.uid == deleted.uid
    # line 2 is now "Third line.", moved up from line 3: the old line 2 is not a variant of it
    assert variant_of(side, current) == "; the line is gone (deleted, or its text edited)"
    assert variant_of(side, current_segments({"ep": after})).startswith("; text ")  # as before
    # a line edited in place is still compared with what it says now
    edited = _plan(tmp_path, "First line.\n[Alice] Second line, edited.\n[Alice] Third line.\n")
    _store_as_uid_rendered(store, edited)
    assert variant_of(side, current_segments({"ep": edited}, store)) == (
        "; text 'Second line.' vs 'Second line, edited.' now"
    )
