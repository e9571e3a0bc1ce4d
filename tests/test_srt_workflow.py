"""SRT episodes through real `snakemake` runs (fake engine): outputs, mode switches, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pysrt
import pytest
import soundfile as sf

from tests.conftest import REPO, rendered_count

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "srt"

SRT_CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {params: {speed: 1.1}}
  bob: {params: {brightness: 0.8}}
  maura: {params: {brightness: 0.2}}
aliases: {al: alice, robert: bob}
episodes:
  ep1:
    source: subs/episode.srt
    timing: {mode: MODE}
"""


def srt_project(make_project, source: Path, mode: str = "smart_natural"):
    project = make_project(config=SRT_CONFIG.replace("MODE", mode))
    (project.path / "subs").mkdir()
    shutil.copy(source, project.path / "subs/episode.srt")
    return project


def set_mode(project, mode: str) -> None:
    project.write("config/config.yaml", SRT_CONFIG.replace("MODE", mode))


def outputs(project):
    out = project.path / "out"
    timing = json.loads((out / "ep1.timing.json").read_text("utf-8"))
    subs = pysrt.open(str(out / "ep1.srt"), encoding="utf-8")
    audio, rate = sf.read(str(out / "ep1.wav"), dtype="float32")
    return timing, subs, audio, rate


def check_outputs(project, mode: str) -> dict:
    """What must hold in every mode: the SRT parses back and matches the report, each spoken
    cue is heard where the report puts it, and no two spoken cues overlap."""
    timing, subs, audio, rate = outputs(project)
    assert timing["mode"] == mode and rate == timing["sample_rate"]
    assert len(audio) == timing["duration_samples"]
    shown = [c for c in timing["cues"] if c["text"]]
    assert len(subs) == len(shown)
    for sub, cue in zip(subs, shown):
        assert abs(sub.start.ordinal - cue["final"]["start"] * 1000) <= 1
        assert abs(sub.end.ordinal - cue["final"]["end"] * 1000) <= 1
    spoken = [
        c for c in timing["cues"] if c["final"]["audio_end_sample"] > c["final"]["start_sample"]
    ]
    assert spoken
    previous_end = 0
    for cue in spoken:
        start, end = cue["final"]["start_sample"], cue["final"]["audio_end_sample"]
        assert start >= previous_end, cue
        previous_end = end
        assert np.abs(audio[start:end]).max() > 0.01, cue  # the cue is heard inside its span
        if mode in ("pad_with_silence", "stretch_to_fit") and "shifted" not in cue["flags"]:
            assert abs(start - cue["target"]["start_sample"]) <= 1  # only pushes move a cue
    silent = [c for c in timing["cues"] if "silent" in c["flags"]]
    for cue in silent:
        assert cue["natural_samples"] == 0
    return timing


def test_srt_episode_modes_adjusted_srt_and_no_rerender(make_project):
    project = srt_project(make_project, DATA / "basic.srt")
    first = project.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 8  # 6 spoken cues; two of them have two speakers
    assert "cue      target span" in first.output  # the table in the log
    timing = check_outputs(project, "smart_natural")
    assert [c["cue"] for c in timing["cues"] if "silent" in c["flags"]] == [3, 4, 7]
    plan_file = project.path / "build/plans/ep1.json"
    plan = json.loads(plan_file.read_text())
    keys = [i["key"] for i in plan["items"] if i["type"] == "segment"]
    assert {i["cue"] for i in plan["items"]} == {1, 2, 5, 6, 8, 9}
    subs = pysrt.open(str(project.path / "out/ep1.srt"))
    assert subs[1].text == "{\\an8}Bob, come &amp; look!"  # script tag gone, formatting kept
    assert subs[2].text == "[door slams]"  # a sound description is still shown

    store = project.segments()
    for mode in ("pad_with_silence", "stretch_to_fit", "concatenate"):
        set_mode(project, mode)
        result = project.snakemake("-j1", "out/ep1.wav")
        assert result.returncode == 0, result.output
        assert rendered_count(result) == 0, mode  # switching mode re-renders no segment
        assert "(Rule: assemble)" in result.output
        new_plan = json.loads(plan_file.read_text())
        assert new_plan["srt"]["timing"]["mode"] == mode
        assert [i["key"] for i in new_plan["items"] if i["type"] == "segment"] == keys
        timing = check_outputs(project, mode)
        if mode == "stretch_to_fit":
            for cue in timing["cues"]:
                if "silent" not in cue["flags"]:
                    target = cue["target"]["end_sample"] - cue["target"]["start_sample"]
                    assert cue["final"]["audio_end_sample"] - cue["final"]["start_sample"] == target
                    assert cue["actions"]["stretch_ratio"] > 1.0  # the fake clips are short
                    _, _, audio, _ = outputs(project)
                    end = cue["final"]["audio_end_sample"]
                    assert np.abs(audio[end - 2400 : end - 240]).max() > 0.01  # sound to the end
        if mode == "concatenate":
            starts = [c["final"]["start_sample"] for c in timing["cues"] if c["natural_samples"]]
            assert starts[0] == int(0.25 * 24000)  # rebuilt from the lead-in, not cue 1's time
    assert project.segments() == store


def test_tight_cues_shift_stretch_and_truncate(make_project):
    tight = (
        "1\n00:00:01,000 --> 00:00:01,500\n"
        "A line that is far too long for its very short cue, said quickly.\n\n"
        "2\n00:00:02,000 --> 00:00:02,300\nAnd another long line crammed in here.\n\n"
        "3\n00:00:02,400 --> 00:00:04,000\nShort.\n"
    )
    config = SRT_CONFIG.replace("MODE", "smart_natural, shift_tolerance_ms: 200, overflow: cut")
    project = make_project(config=config)
    project.write("subs/episode.srt", tight)
    build = project.snakemake("-j1", "out/ep1.wav", "out/ep1.stems.json")
    assert build.returncode == 0
    timing = check_outputs(project, "smart_natural")
    one, two, three = timing["cues"]
    assert one["actions"]["shift_next_samples"] == int(0.2 * 24000) and "shifted" in two["flags"]
    assert one["actions"]["stretch_ratio"] == pytest.approx(0.8, abs=1e-4)
    assert "truncated" in two["flags"] and two["actions"]["stretch_ratio"] == pytest.approx(
        0.8, abs=1e-4
    )
    assert three["final"]["start_sample"] - three["target"]["start_sample"] == int(0.2 * 24000)
    assert timing["flags"]["truncated"] >= 1
    # Only because the config says overflow: cut, and never quietly: one line per cue, once
    # on the console though the episode and its stems both time the cues, and in each job's log
    warned = [line for line in build.output.splitlines() if "s of speech cut" in line]
    assert len(warned) == timing["flags"]["truncated"]
    for job in ("assemble", "stems"):
        assert warned[0] in (project.path / f"logs/{job}/ep1.log").read_text(), job
    assert warned[0].startswith("ttsbuild: warning: subs/episode.srt:6: cue 2: 0.")
    assert [p["cue"] for p in timing["problems"] if p["cut"]] == [2]


OVERLONG_SRT = (
    "1\n00:00:01,000 --> 00:00:02,000\n"
    "This cue holds far more speech than one second can carry: three seconds of it, "
    "or nearly, said at an even pace, one word after another.\n\n"
    "2\n00:00:02,200 --> 00:00:03,000\nNext cue.\n\n"
    "3\n00:00:20,000 --> 00:00:21,000\nLast.\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pad_with_silence", "smart_natural", "stretch_to_fit"])
def test_no_speech_is_lost_by_default_and_strict_fails(make_project, mode):
    config = SRT_CONFIG.replace("MODE", f"{mode}, shift_tolerance_ms: 500")
    project = make_project(config=config)
    project.write("subs/episode.srt", OVERLONG_SRT)
    check = project.ttsbuild("check")
    assert check.returncode == 0
    assert "ttsbuild: warning: subs/episode.srt:2: cue 1: likely to overflow: about " in (
        check.stderr
    )
    build = project.snakemake("-j1", "out/ep1.wav")
    assert build.returncode == 0, build.output
    timing = check_outputs(project, mode)
    one, two, three = timing["cues"]
    assert one["actions"]["truncate_samples"] == 0 and "truncated" not in timing["flags"]
    heard = one["final"]["audio_end_sample"] - one["final"]["start_sample"]
    assert heard >= one["natural_samples"] / 1.25 - 1  # every word, at most 1.25x faster
    assert "late" in two["flags"] and three["actions"]["shift_samples"] == 0  # caught up
    warned = [line for line in build.output.splitlines() if "s late, past" in line]
    assert len(warned) == 1 and warned[0].startswith(
        "ttsbuild: warning: subs/episode.srt:6: cue 2: "
    )
    assert warned[0].endswith(" (2 words)")
    assert {p["cue"]: p["words"] for p in timing["problems"]}[2] == 2
    report = json.loads((project.path / "out/ep1.report.json").read_text())
    assert report["timing_problems"] == timing["problems"]
    # Strict (for CI): the same build fails with one line.
    strict = project.snakemake(
        "-j1", "--forceall", "out/ep1.wav", timeout=120, TTSBUILD_STRICT_TIMING="1"
    )
    assert strict.returncode != 0
    errors = [line for line in strict.output.splitlines() if line.startswith("ttsbuild: error:")]
    assert len(errors) == 1 and errors[0].startswith("ttsbuild: error: subs/episode.srt:6: cue 2: ")
    assert "timing is strict" in errors[0]


def test_episode02_all_modes(make_project):
    """The 100+ cue example file renders end to end in every mode (fake engine)."""
    project = srt_project(make_project, REPO / "examples/episode02.srt")
    first = project.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    rendered = rendered_count(first)
    assert rendered >= 100
    assert "treated as a sound description" not in first.output  # every speaker tag is known
    for mode in ("smart_natural", "pad_with_silence", "stretch_to_fit", "concatenate"):
        if mode != "smart_natural":
            set_mode(project, mode)
            result = project.snakemake("-j1", "out/ep1.wav")
            assert result.returncode == 0, result.output
            assert rendered_count(result) == 0
        timing = check_outputs(project, mode)
        assert timing["cue_count"] >= 100
        flags = timing["flags"]
        assert flags["silent"] == 6 and flags["zero_length"] == 1 and flags["source_overlap"] == 1
    assert project.loads() == 1


def test_encoding_override_and_detection(make_project):
    project = srt_project(make_project, DATA / "cp1250.srt")
    config = SRT_CONFIG.replace("MODE", "pad_with_silence")
    project.write("config/config.yaml", config)
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    timing, subs, _, _ = outputs(project)
    assert timing["encoding"] == "cp1250"
    assert subs[0].text == "Příliš žluťoučký kůň úpěl ďábelské ódy."  # written back as UTF-8
    project.write("config/config.yaml", config.replace("timing:", "encoding: cp1252\n    timing:"))
    wrong = project.snakemake("-j1", "out/ep1.wav")
    assert wrong.returncode != 0
    assert "ttsbuild: error: subs/episode.srt:3: not valid cp1252 (byte 0x9d)" in wrong.stderr
    # latin-1 decodes any byte, but cp1250 text read as latin-1 holds C1 control characters:
    # refused with the place, instead of speaking mojibake.
    project.write("config/config.yaml", config.replace("timing:", "encoding: latin-1\n    timing:"))
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode != 0
    assert "subs/episode.srt:3: cue 1: control character U+009A" in result.stderr


@pytest.mark.parametrize(
    "source,config_edit,expected",
    [
        ("bad_timing.srt", None, "subs/episode.srt:6: cue 2: bad timing line"),
        ("bad_number.srt", None, "subs/episode.srt:9: cue 3: the cue number is not followed"),
        (
            "basic.srt",
            ("timing:", "encoding: klingon\n    timing:"),
            "config/config.yaml:11: episode 'ep1': unknown text encoding 'klingon'",
        ),
        (
            "basic.srt",
            ("smart_natural", "fastest"),
            "'episodes.ep1.timing.mode': 'fastest' is not one of",
        ),
    ],
)
def test_srt_errors_are_one_line(make_project, source, config_edit, expected):
    project = srt_project(make_project, DATA / source)
    if config_edit:
        project.write(
            "config/config.yaml", SRT_CONFIG.replace("MODE", "smart_natural").replace(*config_edit)
        )
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("ttsbuild: error:")]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "Traceback" not in result.output
