"""check/plan predict subtitle overflow before rendering (in-process, fake engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttsbuild.config import project_from_config
from ttsbuild.planning.planner import Planner
from ttsbuild.reports.overflow import measured_rates, predict_overflow
from ttsbuild.store.segments import Sidecar, segment_path, write_sidecar

SRT = (
    "1\n00:00:01,000 --> 00:00:02,000\n"
    "[Alice] This cue holds far more speech than one second can carry, about four seconds.\n\n"
    "2\n00:00:02,200 --> 00:00:05,000\n[Alice] Short.\n\n"
    "3\n00:00:09,000 --> 00:00:10,000\nLast.\n"
)


def _project(root: Path, timing: dict):
    (root / "ep.srt").write_text(SRT)
    config = {
        "engine": "fake",
        "characters": {"narrator": {}, "alice": {}},
        "episodes": {"ep": {"source": "ep.srt", "timing": timing}},
    }
    project = project_from_config(config, root)
    return project, Planner(project).plan_episode("ep")


def test_overlong_cue_is_predicted_with_the_engine_default_rate(tmp_path, monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    project, plan = _project(tmp_path, {"mode": "pad_with_silence"})
    (only,) = predict_overflow(plan, project.output, {})
    assert (only.cue, only.line) == (1, 2)
    assert only.message == (
        "likely to overflow: about 5.5 s of speech for 1.2 s up to the next spoken cue "
        "(alice: 14.0 chars/s, the engine's default); timing pad_with_silence, overflow push: "
        "it pushes the next cue about 4.3 s later"
    )
    cut = _project(tmp_path, {"mode": "pad_with_silence", "overflow": "cut"})
    (predicted,) = predict_overflow(cut[1], project.output, {})
    assert "s of speech cut (overflow: cut)" in predicted.message
    # Concatenate has no cue times to overflow.
    concat = _project(tmp_path, {"mode": "concatenate"})
    assert predict_overflow(concat[1], project.output, {}) == []


def test_measured_rate_from_stored_segments_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    project, plan = _project(tmp_path, {"mode": "smart_natural"})
    store = tmp_path / "store"
    store.mkdir()
    for seg in plan.segments():  # every stored clip: 100 characters per second
        samples = len(seg.text) * 160
        write_sidecar(
            store, Sidecar(seg.key, seg.request, "ep.srt:2", seg.speaker, 0, samples, 16000)
        )
        segment_path(store, seg.key).write_bytes(b"")
    rates = measured_rates(store)
    assert rates["alice"].measured_from == 2
    assert rates["alice"].chars_per_second == pytest.approx(100.0)
    assert predict_overflow(plan, project.output, rates) == []  # 0.8 s fits in 1.2 s


def test_stored_segments_predict_with_their_own_length(tmp_path, monkeypatch):
    # (issue 26) check predicted from rates even when every segment was stored and measured
    from ttsbuild.reports.overflow import summarize_overflow

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    project, plan = _project(tmp_path, {"mode": "smart_natural"})
    store = tmp_path / "store"
    store.mkdir()
    first, *_ = plan.segments()
    # cue 1 really is 1.5 s long: it pushes cue 2 by 0.3 s, within shift_tolerance_ms
    write_sidecar(store, Sidecar(first.key, first.request, "ep.srt:2", "alice", 0, 24000, 16000))
    segment_path(store, first.key).write_bytes(b"")
    summary = summarize_overflow(plan, project.output, {}, store)
    (only,) = summary.predicted
    assert only.measured and not only.problem  # absorbed: sped up, no warning from the build
    assert "measured: every segment stored" in only.message
    assert summary.worst(10) == []
    assert summary.line("ep.srt") == (
        "ep.srt: 3 spoken cues, 1 longer than their room: 1 absorbed by the timing (gaps, "
        "speed), 0 would warn; 1 of them measured from stored segments"
    )
    # with the engine's default rate the same cue is 5.5 s: a warning, listed among the worst
    estimated = summarize_overflow(plan, project.output, {})
    (worst,) = estimated.worst(10)
    assert worst.problem and not worst.measured and worst.excess_ms > 4000
