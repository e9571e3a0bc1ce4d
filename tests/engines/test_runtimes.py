"""One episode, two engines, two runtimes that cannot share an environment (docs/engines.md).

The narrator speaks through F5-TTS in the engines venv (``runtime: {python: ...}``: numpy 2.x,
torch 2.13); the characters speak through Chatterbox, English and multilingual, in the managed
Chatterbox runtime (``runtime: {managed: true}``: Chatterbox's own numpy<2 pin). CI creates the
managed runtime before this test (``ttsbuild runtime create chatterbox``, .ci/run); without it
the test is skipped with the command that creates it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, rendered_count
from tests.engines import checkpoints
from tests.test_runtimes import _gone_within, _wait_for_worker
from ttsbuild.config.settings import RuntimeSetting
from ttsbuild.engines import runtimes

CONFIG = """\
engine: chatterbox
narrator: narrator
batch_size: 20
engines:
  chatterbox: {{checkpoint_dir: {en}, runtime: {{managed: true}}}}
  chatterbox-multilingual: {{checkpoint_dir: {mtl}, runtime: {{managed: true}}}}
  f5tts: {{checkpoint_dir: {f5}, runtime: {{python: {f5_python}}}}}
characters:
  narrator:
    engine: f5tts
    voice: voices/narrator.wav       # transcript: voices/narrator.reference.txt
    params: {{nfe_step: 4}}
  alice:
    voice: voices/alice.flac
    params: {cb}
    languages:
      de: {{engine: chatterbox-multilingual}}
  bob:
    voice: voices/bob.wav
    params: {cb}
    languages:
      fr: {{engine: chatterbox-multilingual}}
episodes:
  ep1: {{source: scripts/ep1.txt}}
"""

SCRIPT = """\
The story begins.
[Alice] Hello Bob.
[Bob] Hello Alice.
[de:Alice] Guten Tag, Bob.
[fr:Bob] Bonjour, Alice.
They walk on.
"""

CB = "{max_new_tokens: 30, cfm_steps: 2}"


def _loads(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in re.findall(r"ttsbuild: loaded engine (\S+) model", output):
        counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.fixture(scope="module")
def chatterbox_runtime() -> Path:
    setting = RuntimeSetting.from_dict({"managed": True})
    try:
        return runtimes.python_of("chatterbox", setting)
    except Exception as exc:  # noqa: BLE001 - the message names the command that creates it
        pytest.skip(str(exc))


def test_f5_narrator_and_chatterbox_characters_in_their_own_runtimes(
    make_project, chatterbox_runtime, chatterbox_en_dir, chatterbox_mtl_dir, f5_dir
):
    config = CONFIG.format(
        en=chatterbox_en_dir, mtl=chatterbox_mtl_dir, f5=f5_dir, f5_python=sys.executable, cb=CB
    )
    project = make_project(config=config, script=SCRIPT)
    voices = project.path / "voices"
    checkpoints.write_voice(voices / "narrator.wav", 120, rate=16000)
    (voices / "narrator.reference.txt").write_text("Some call me nature.\n", encoding="utf-8")
    checkpoints.write_voice(voices / "alice.flac", 210, rate=44100, channels=2)
    checkpoints.write_voice(voices / "bob.wav", 150)

    first = project.snakemake("-j2", "out/ep1.wav", timeout=1800)
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 6
    # every model loads once per build, each in its own worker
    assert _loads(first.output) == {"chatterbox": 1, "chatterbox-multilingual": 1, "f5tts": 1}
    report = json.loads((project.path / "out/build-report.json").read_text())
    envs = report["environments"]
    assert set(envs) == {"chatterbox", "chatterbox-multilingual", "f5tts"}
    cb, f5 = envs["chatterbox"], envs["f5tts"]
    assert cb["executable"] == str(chatterbox_runtime) and f5["executable"] == sys.executable
    assert envs["chatterbox-multilingual"]["executable"] == str(chatterbox_runtime)
    # versions that cannot share one environment: Chatterbox's numpy<2 against F5's numpy 2.x
    assert cb["numpy"].startswith("1.") and f5["numpy"].startswith("2."), envs
    assert cb["chatterbox-tts"] == "0.1.7" and f5["f5-tts"] and cb["torch"] and f5["torch"]
    assert report["main_process"]["torch_imported"] is False  # Snakemake's process: no torch
    assert (project.path / "out/ep1.wav").stat().st_size > 0

    again = project.snakemake("-j2", "out/ep1.wav")
    assert again.returncode == 0 and rendered_count(again) == 0 and not _loads(again.output)

    # Kill the build while a worker renders: no worker outlives it.
    project.write("scripts/ep1.txt", SCRIPT + "[Alice] One more line.\n")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    proc = subprocess.Popen(
        [*cmd, "-d", str(project.path), "-j1", "out/ep1.wav"],
        env=project.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = _wait_for_worker(proc.pid, 120.0)
    assert worker is not None, "no worker started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _gone_within(worker, 5.0)
