"""CI use: build reports, delivery formats, a CI profile run."""

from __future__ import annotations

import json

import pytest
import soundfile as sf

from tests.conftest import REPO


def _report(project) -> dict:
    return json.loads((project.path / "out/ep1.report.json").read_text())


@pytest.mark.slow
def test_reports_across_cold_noop_and_edit(make_project):
    project = make_project()
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    first = _report(project)
    assert first["rendered_now"] == 6 and first["reused"] == 0 and first["ok"]
    assert first["duration"] > 0
    # Engine time is the sum of what each rendered segment's sidecar recorded.
    sidecars = [json.loads(p.read_text()) for p in (project.path / "build/segments").glob("*.json")]
    assert len(sidecars) == 6
    recorded = sum(s["render_seconds"] for s in sidecars)
    assert first["engine_seconds"] > 0
    assert first["engine_seconds"] == pytest.approx(recorded, abs=0.01)

    noop = project.snakemake("-j1", "out/ep1.wav")
    assert "Nothing to be done" in noop.output
    second = _report(project)
    assert second["rendered_now"] == 0 and second["reused"] == 6
    summary = json.loads((project.path / "out/build-report.json").read_text())
    assert summary["success"] and summary["rendered_now"] == 0

    script = project.path / "scripts/ep1.txt"
    script.write_text(script.read_text().replace("Hello Bob.", "Hi Bob."))
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    third = _report(project)
    assert third["rendered_now"] == 1 and third["reused"] == 5


@pytest.mark.slow
def test_failed_segment_is_reported_with_line_and_reason(make_project):
    project = make_project()
    result = project.snakemake(
        "--profile", str(REPO / "profiles" / "ci"), "out/ep1.wav", TTSBUILD_FAKE_FAIL="today"
    )
    assert result.returncode != 0
    report = _report(project)
    assert not report["ok"] and report["rendered_now"] == 5
    (failed,) = report["failed"]
    assert failed["where"] == "scripts/ep1.txt:6" and "fake failure" in failed["reason"]
    summary = json.loads((project.path / "out/build-report.json").read_text())
    assert summary["success"] is False and summary["failed"] == 1
    # The fix: the next run renders only the missing segment and the report is clean.
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    assert _report(project)["ok"] and _report(project)["rendered_now"] == 1


@pytest.mark.slow
def test_delivery_formats_decode_with_the_same_length(make_project):
    project = make_project()
    targets = [f"out/ep1.{ext}" for ext in ("wav", "flac", "mp3", "ogg")]
    result = project.snakemake("-j1", *targets)
    assert result.returncode == 0, result.output
    lengths = set()
    for target in targets:
        data, rate = sf.read(str(project.path / target))
        assert rate == 24000 and abs(data).max() > 0.01
        lengths.add(len(data))
    assert len(lengths) == 1


@pytest.mark.slow
def test_episodes_not_built_are_not_reported(make_project):
    from tests.conftest import FAKE_CONFIG

    project = make_project(FAKE_CONFIG + "  ep2: {source: scripts/ep2.txt}\n")
    project.write("scripts/ep2.txt", "[bob] Only in episode two.\n")
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    summary = json.loads((project.path / "out/build-report.json").read_text())
    assert list(summary["episodes"]) == ["ep1"] and summary["not_built"] == ["ep2"]
    assert summary["segments_total"] == 6 and summary["rendered_now"] == 6
    assert not (project.path / "out/ep2.report.json").exists()
