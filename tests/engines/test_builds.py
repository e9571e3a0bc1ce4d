"""Real `snakemake` builds with Chatterbox (English + multilingual) and F5-TTS, random weights."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import soundfile as sf

from tests.conftest import rendered_count
from tests.engines import checkpoints

CONFIG = """\
engine: chatterbox
batch_size: 3
engines:
  chatterbox: {{checkpoint_dir: {en}}}
  chatterbox-multilingual: {{checkpoint_dir: {mtl}}}
  f5tts: {{checkpoint_dir: {f5}}}
characters:
  narrator:
    voice: voices/narrator.wav
    params: {cb}
    languages:
      de: {{engine: chatterbox-multilingual}}
  alice:
    voice: voices/alice.flac
    params: {cb}
    languages:
      de: {{engine: chatterbox-multilingual}}
  bob:
    engine: f5tts
    voice: voices/bob.wav            # transcript: voices/bob.reference.txt
    params: {f5_params}
    languages:
      de: {{engine: chatterbox-multilingual, voice: voices/bob_de.wav, params: {cb}}}
episodes:
  ep1: {{source: scripts/ep1.txt}}
"""

SCRIPT = """\
The story begins.
[en:Alice] Hello Bob.
[en:Bob] Hello Alice.
[de:Alice] Guten Tag, Bob.
[de:Bob] Guten Tag, Alice.
[de:narrator] Sie gehen los.
[en:narrator] They walk.
[en:Alice] Look at the sea.
[en:Bob] It is cold.
[de:Alice] Es ist kalt.
"""

CB = "{max_new_tokens: 30, cfm_steps: 2}"
F5 = "{nfe_step: 4}"


def _project(make_project, en: Path, mtl: Path, f5: Path, script: str = SCRIPT, f5_ckpt=None):
    config = CONFIG.format(en=en, mtl=mtl, f5=f5_ckpt or f5, cb=CB, f5_params=F5)
    project = make_project(config=config, script=script)
    voices = project.path / "voices"
    checkpoints.write_voice(voices / "narrator.wav", 120)
    checkpoints.write_voice(voices / "alice.flac", 210, rate=44100, channels=2)
    checkpoints.write_voice(voices / "bob.wav", 150, rate=16000)
    checkpoints.write_voice(voices / "bob_de.wav", 160)
    (voices / "bob.reference.txt").write_text("Some call me nature.\n", encoding="utf-8")
    return project


def _loads(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in re.findall(r"ttsbuild: loaded engine (\S+) model", output):
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_two_languages_three_characters_one_load_per_model(
    make_project, chatterbox_en_dir, chatterbox_mtl_dir, f5_dir
):
    project = _project(make_project, chatterbox_en_dir, chatterbox_mtl_dir, f5_dir)
    lint = project.snakemake("--lint")
    assert lint.returncode == 0 and "Lints for" not in lint.output, lint.output
    dry = project.snakemake("-n", "-j2", "out/ep1.wav")
    assert dry.returncode == 0, dry.output

    # four render jobs of up to three segments, two at a time in threads of one process
    first = project.snakemake("-j2", "out/ep1.wav", timeout=900)
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 10
    assert _loads(first.output) == {"chatterbox": 1, "chatterbox-multilingual": 1, "f5tts": 1}
    segments = project.segments()
    assert len(segments) == 10
    plan = json.loads((project.path / "build/plans/ep1.json").read_text())
    engines = {(i["speaker"], i["language"]): i["engine"] for i in plan["items"]}
    assert engines == {
        ("narrator", "en"): "chatterbox",
        ("alice", "en"): "chatterbox",
        ("bob", "en"): "f5tts",
        ("alice", "de"): "chatterbox-multilingual",
        ("bob", "de"): "chatterbox-multilingual",
        ("narrator", "de"): "chatterbox-multilingual",
    }
    for name in segments:
        info = sf.info(str(project.path / "build/segments" / name))
        assert info.samplerate == 24000 and info.frames > 0
    episode = sf.info(str(project.path / "out/ep1.wav"))
    assert episode.duration > 5
    assert len((project.path / "out/ep1.srt").read_text().strip().split("\n\n")) == 10

    again = project.snakemake("-j2", "out/ep1.wav")
    assert again.returncode == 0 and rendered_count(again) == 0 and not _loads(again.output)

    # Replace Alice's recording: exactly her four lines (both languages) render again.
    alice = {i["key"] for i in plan["items"] if i.get("speaker") == "alice"}
    assert len(alice) == 4
    checkpoints.write_voice(project.path / "voices/alice.flac", 260, rate=44100, channels=2)
    swapped = project.snakemake("-j2", "out/ep1.wav", timeout=900)
    assert swapped.returncode == 0, swapped.output
    assert rendered_count(swapped) == 4
    after = project.segments()
    new_plan = json.loads((project.path / "build/plans/ep1.json").read_text())
    new_alice = {i["key"] for i in new_plan["items"] if i.get("speaker") == "alice"}
    assert not new_alice & alice
    others = {
        f"{i['key']}.wav" for i in new_plan["items"] if i.get("speaker") in ("bob", "narrator")
    }
    assert all(after[name] == segments[name] for name in others)  # untouched, byte for byte


def test_plan_time_language_and_voice_errors(
    make_project, chatterbox_en_dir, chatterbox_mtl_dir, f5_dir
):
    project = _project(
        make_project, chatterbox_en_dir, chatterbox_mtl_dir, f5_dir, script="[fr:Bob] Bonjour.\n"
    )
    result = project.ttsbuild("check")
    assert result.returncode != 0
    assert (
        "scripts/ep1.txt:1: engine 'f5tts' cannot speak 'fr' for character 'bob' (it speaks: en, zh)"
        in result.output
    ), result.output
    project.write("scripts/ep1.txt", "[de:narrator] Hallo.\n")
    assert project.ttsbuild("check").returncode == 0  # routed to chatterbox-multilingual
    config = (project.path / "config/config.yaml").read_text()
    project.write(
        "config/config.yaml",
        config.replace(
            "    languages:\n      de: {engine: chatterbox-multilingual}\n  alice", "  alice", 1
        ),
    )
    result = project.ttsbuild("check")
    assert (
        "engine 'chatterbox' cannot speak 'de' for character 'narrator' (it speaks: en)"
        in result.output
    )
    (project.path / "voices/bob.reference.txt").unlink()
    project.write("scripts/ep1.txt", "[Bob] Hi.\n")
    result = project.ttsbuild("check")
    assert re.search(
        r"config/config.yaml:\d+: characters.bob: engine 'f5tts' needs the transcript of '.*voices/bob.wav'",
        result.output,
    ), result.output


def test_a_nan_generation_fails_only_its_segment(
    make_project, chatterbox_en_dir, chatterbox_mtl_dir, f5_dir, f5_nan_dir
):
    project = _project(
        make_project,
        chatterbox_en_dir,
        chatterbox_mtl_dir,
        f5_dir,
        script="[Bob] Hello.\n",
        f5_ckpt=f5_nan_dir,
    )
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode != 0
    assert (
        "ttsbuild: scripts/ep1.txt:1 (bob): the engine returned NaN or infinite samples"
        in result.output
    )
    assert project.segments() == {}
    shutil.rmtree(project.path / "build", ignore_errors=True)
