"""explain: why a planned segment will render (in-process, sidecars written by hand)."""

from __future__ import annotations

from pathlib import Path

from ttsbuild.config import project_from_config
from ttsbuild.planning.planner import Planner
from ttsbuild.reports.explain import SidecarIndex, explain_plan
from ttsbuild.store.segments import Sidecar, segment_path, write_sidecar

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
