"""Real `snakemake` builds of a temporary project (fake engine: fast and deterministic)."""

from __future__ import annotations

import json

import pysrt
import pytest
import soundfile as sf

from tests.conftest import rendered_count


def test_build_incremental_rebuilds(make_project):
    project = make_project()
    first = project.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 6
    for suffix in (".wav", ".srt", ".timing.json"):
        assert (project.path / "out" / f"ep1{suffix}").stat().st_size > 0
    assert project.loads() == 1
    before = project.segments()
    assert len(before) == 6

    again = project.snakemake("-j1", "out/ep1.wav")
    assert again.returncode == 0, again.output
    assert rendered_count(again) == 0
    assert "Nothing to be done" in again.output

    script = (project.path / "scripts/ep1.txt").read_text()
    project.write("scripts/ep1.txt", script.replace("Hello Bob.", "Hello there, Bob."))
    edit = project.snakemake("-j1", "out/ep1.wav")
    assert edit.returncode == 0, edit.output
    assert rendered_count(edit) == 1
    after = project.segments()
    assert len(after) == 7 and set(before) < set(after)  # the store keeps the old render

    # A pause changes timing only: re-assembled, nothing rendered.
    wav_before = sf.info(str(project.path / "out/ep1.wav")).frames
    project.write(
        "scripts/ep1.txt",
        (project.path / "scripts/ep1.txt")
        .read_text()
        .replace("[Bob] Hello Alice.", "[pause:2s]\n[Bob] Hello Alice."),
    )
    paused = project.snakemake("-j1", "out/ep1.wav")
    assert paused.returncode == 0, paused.output
    assert rendered_count(paused) == 0
    assert "assemble" in paused.output
    assert sf.info(str(project.path / "out/ep1.wav")).frames > wav_before


def test_a_removed_segment_is_rendered_and_assembled_again_the_stored_ones_are_not_inputs(
    make_project, monkeypatch
):
    """Assembly's inputs are the plan and the segments this build renders: a no-op has no
    per-segment DAG work, and a segment removed from the store is still rendered again and
    assembled into the same bytes (it becomes a render job's output, the episode's input)."""
    from ttsbuild.config.schema import DEFAULT_CONFIG_FILE, read_config_file
    from ttsbuild.workflow.build import Build

    project = make_project()
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    episode = (project.path / "out/ep1.wav").read_bytes()
    victim = project.path / "build/segments" / sorted(project.segments())[2]
    victim.unlink()
    again = project.snakemake("-j1", "out/ep1.wav")
    assert again.returncode == 0, again.output
    assert rendered_count(again) == 1
    assert (project.path / "out/ep1.wav").read_bytes() == episode
    noop = project.snakemake("-j1", "out/ep1.wav")
    assert "Nothing to be done" in noop.output, noop.output

    # A new, empty store while the episode is up to date: every segment is rendered into it
    # (before the plan was touched: "Nothing to be done", the store never filled, 6 failed).
    config_file = project.path / "config/config.yaml"
    config_file.write_text(config_file.read_text() + "store: build/newstore\n")
    moved = project.snakemake("-j1", "out/ep1.wav")
    assert moved.returncode == 0, moved.output
    assert rendered_count(moved) == 6, moved.output
    assert len(list((project.path / "build/newstore").glob("*.wav"))) == 6
    assert (project.path / "out/ep1.wav").read_bytes() == episode
    noop = project.snakemake("-j1", "out/ep1.wav")
    assert "Nothing to be done" in noop.output, noop.output
    config_file.write_text(config_file.read_text().replace("store: build/newstore\n", ""))

    monkeypatch.chdir(project.path)
    for key, value in project.env().items():
        if key.startswith("TTSBUILD_"):
            monkeypatch.setenv(key, value)
    config = read_config_file(project.path / DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_FILE)
    assert Build(config).missing_segment_files("ep1") == []  # all stored: no segment inputs
    victim.unlink()
    assert Build(config).missing_segment_files("ep1") == [
        f"build/segments/{victim.name}",
        "build/.ttsbuild/pending/ep1.json",
    ]


@pytest.mark.slow
def test_character_voice_change_rerenders_only_that_character(make_project):
    project = make_project()
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    config = (project.path / "config/config.yaml").read_text()
    project.write("config/config.yaml", config.replace("speed: 1.1", "speed: 1.2"))
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    # Alice speaks two lines ("Hello Bob." and, through the alias, "How are you today?").
    assert rendered_count(result) == 2
    plan = json.loads((project.path / "build/plans/ep1.json").read_text())
    alice = {i["key"] for i in plan["items"] if i.get("speaker") == "alice"}
    assert len(alice) == 2


@pytest.mark.slow
def test_clean_builds_are_byte_identical(make_project):
    a = make_project(name="a")
    b = make_project(name="b")
    assert a.snakemake("-j1", "out/ep1.wav").returncode == 0
    assert b.snakemake("-j1", "out/ep1.wav").returncode == 0
    assert a.segments() == b.segments()
    assert (a.path / "out/ep1.wav").read_bytes() == (b.path / "out/ep1.wav").read_bytes()


@pytest.mark.slow
def test_one_model_load_for_twenty_lines(make_project):
    lines = "\n".join(
        f"[{'alice' if i % 3 == 0 else 'bob' if i % 3 == 1 else 'narrator'}] Line number {i}."
        for i in range(20)
    )
    project = make_project(script=lines + "\n")
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    assert rendered_count(result) == 20
    assert project.loads() == 1


@pytest.mark.slow
def test_srt_and_timing_match_the_audio(make_project):
    project = make_project()
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    timing = json.loads((project.path / "out/ep1.timing.json").read_text())
    subs = pysrt.open(str(project.path / "out/ep1.srt"))
    assert len(subs) == timing["segments"] == 6
    audio, rate = sf.read(str(project.path / "out/ep1.wav"))
    assert rate == timing["sample_rate"]
    assert len(audio) == timing["duration_samples"]
    for cue, item in zip(subs, timing["items"]):
        assert cue.text == item["text"]
        assert abs(cue.start.ordinal - item["start"] * 1000) <= 1
        assert abs(cue.end.ordinal - item["end"] * 1000) <= 1
        inside = audio[item["start_sample"] : item["end_sample"]]
        assert abs(inside).max() > 0.05  # the line is heard inside its cue
    # Between cues there is silence: the gap before the second cue.
    gap = audio[timing["items"][0]["end_sample"] : timing["items"][1]["start_sample"]]
    assert len(gap) > 0 and abs(gap).max() < 1e-3
    # The 500 ms pause replaced the gap between Bob's line and Alice's.
    items = timing["items"]
    assert items[3]["start_sample"] - items[2]["end_sample"] == int(0.5 * rate)


@pytest.mark.slow
def test_dry_run_lists_the_segments_to_render(make_project):
    project = make_project()
    dry = project.snakemake("-n", "-j1", "out/ep1.wav")
    assert dry.returncode == 0, dry.output
    # profiles/default leaves Snakemake's per-job file lists out (quiet: [rules]) ...
    assert "build/segments/" not in dry.output and "render_" in dry.output
    # ... and --quiet host (after the targets) brings them back: each segment to render
    dry = project.snakemake("-n", "-j1", "out/ep1.wav", "--quiet", "host")
    assert dry.returncode == 0, dry.output
    assert dry.output.count("build/segments/") >= 6
    assert not (project.path / "build/segments").exists() or not project.segments()


@pytest.mark.slow
def test_lint_is_clean(make_project):
    project = make_project()
    result = project.snakemake("--lint")
    assert result.returncode == 0, result.output
    assert "Lints for" not in result.output, result.output


OSKAR_CONFIG = """\
engine: fake
characters:
  narrator: {}
  oskar: {params: {speed: 1.5}}
episodes:
  ep1: {source: scripts/ep1.txt}
"""


@pytest.mark.slow
def test_narrator_line_after_a_tagged_line_renders_with_the_narrators_voice(make_project):
    project = make_project(OSKAR_CONFIG, "[Oskar|seed:7] I will fetch help.\nHe left at dawn.\n")
    check = project.ttsbuild("check")
    assert check.returncode == 0
    assert (
        "ttsbuild: warning: scripts/ep1.txt:2: this untagged line is spoken by the narrator "
        "as written, without the tag [Oskar|seed:7] of the line before" in check.stderr
    )
    first = project.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 2
    sidecars = [json.loads(p.read_text()) for p in (project.path / "build/segments").glob("*.json")]
    line2 = [s for s in sidecars if s["request"]["text"] == "He left at dawn."]
    assert [s["speaker"] for s in line2] == ["narrator"]
    assert dict(line2[0]["request"]["params"])["speed"] == 1.0  # not Oskar's 1.5
    assert line2[0]["request"]["seed"] != 7  # derived, not Oskar's seed
    # The same line tagged [Narrator] is the same segment: nothing renders again.
    project.write(
        "scripts/ep1.txt", "[Oskar|seed:7] I will fetch help.\n[Narrator] He left at dawn.\n"
    )
    assert rendered_count(project.snakemake("-j1", "out/ep1.wav")) == 0
    # Tagged [Oskar] it is Oskar's line: a new segment with his voice.
    project.write(
        "scripts/ep1.txt", "[Oskar|seed:7] I will fetch help.\n[Oskar] He left at dawn.\n"
    )
    assert rendered_count(project.snakemake("-j1", "out/ep1.wav")) == 1
