"""ASR verification: wrong renders are caught, retried with a new seed, and the verdict kept."""

from __future__ import annotations

import json

import pytest

from ttsbuild.rendering.qa import normalize_words, word_error_rate

pytest.importorskip("faster_whisper")
pytest.importorskip("piper")

QA_CONFIG = """\
engine: liar
qa: {enabled: true, max_wer: 0.3, attempts: %d}
characters:
  narrator: {voice: bundled}
episodes:
  ep1: {source: scripts/ep1.txt}
"""
SCRIPT = "The lighthouse keeper lit the lamp.\nThe boat came home at night.\n"


def test_normalization_and_wer():
    assert normalize_words("It's 42, Bob!") == ["its", "forty", "two", "bob"]
    assert word_error_rate("I have 3 dogs.", "i have three dogs") == 0.0
    assert word_error_rate("one two three four", "one two four") == 0.25


def _env(project, mode: str) -> dict[str, str]:
    return {
        "TTSBUILD_ENGINE_PLUGINS": "liar=tests.liar_engine:LiarEngine",
        "TTSBUILD_LIAR": mode,
    }


def _sidecars(project) -> list[dict]:
    store = project.path / "build/segments"
    return [json.loads(p.read_text()) for p in sorted(store.glob("*.json"))]


@pytest.mark.slow
def test_wrong_render_is_retried_with_a_new_seed(make_project):
    project = make_project(QA_CONFIG % 3, SCRIPT)
    result = project.snakemake("-j1", "out/ep1.wav", **_env(project, "first"))
    assert result.returncode == 0, result.output
    verdicts = [s["qa"] for s in _sidecars(project)]
    assert len(verdicts) == 2
    for v in verdicts:
        assert v["attempts"] == 2 and not v["flagged"] and v["wer"] <= 0.3, (
            v,
            result.output[-3000:],
        )
        assert v["seed"] != 0
    report = json.loads((project.path / "out/ep1.report.json").read_text())
    assert report["qa"]["checked"] == 2 and report["qa"]["retried"] == 2
    assert report["qa"]["flagged"] == []
    assert "WER 1." in result.output or "WER 0.9" in result.output  # the first attempts failed


@pytest.mark.slow
def test_always_wrong_is_flagged_and_never_checked_again(make_project):
    project = make_project(QA_CONFIG % 2, SCRIPT)
    result = project.snakemake("-j1", "out/ep1.wav", **_env(project, "always"))
    assert result.returncode == 0, result.output
    report = json.loads((project.path / "out/ep1.report.json").read_text())
    flagged = report["qa"]["flagged"]
    assert [f["where"] for f in flagged] == ["scripts/ep1.txt:1", "scripts/ep1.txt:2"]
    assert all(f["wer"] > 0.3 and "elephant" in f["transcript"].lower() for f in flagged)
    summary = json.loads((project.path / "out/build-report.json").read_text())
    assert summary["qa_flagged"] == 2
    again = project.snakemake("-j1", "out/ep1.wav", **_env(project, "always"))
    assert again.returncode == 0
    assert "loaded QA model" not in again.output  # the verdict is stored, not recomputed
    assert (
        json.loads((project.path / "out/ep1.report.json").read_text())["qa"]["flagged"] == flagged
    )


@pytest.mark.slow
def test_ci_run_checks_each_new_segment_once(make_project):
    from tests.conftest import REPO

    project = make_project(QA_CONFIG % 2, SCRIPT)
    ci = ("--profile", str(REPO / "profiles" / "ci"), "out/ep1.wav")
    env = _env(project, "never")
    first = project.snakemake(*ci, **env)
    assert first.returncode == 0, first.output
    assert first.output.count("attempt 1: WER") == 2
    report = json.loads((project.path / "out/ep1.report.json").read_text())
    assert report["rendered_now"] == 2 and report["qa"]["checked"] == 2 and report["ok"]

    second = project.snakemake(*ci, **env)
    assert second.returncode == 0 and "attempt 1: WER" not in second.output
    report = json.loads((project.path / "out/ep1.report.json").read_text())
    assert report["rendered_now"] == 0 and report["reused"] == 2

    script = project.path / "scripts/ep1.txt"
    script.write_text(script.read_text().replace("at night", "at dawn"))
    third = project.snakemake(*ci, **env)
    assert third.returncode == 0, third.output
    assert third.output.count("attempt 1: WER") == 1
    report = json.loads((project.path / "out/ep1.report.json").read_text())
    assert report["rendered_now"] == 1 and report["reused"] == 1 and report["qa"]["checked"] == 2
