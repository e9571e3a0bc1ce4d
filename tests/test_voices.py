"""Reference-audio voices for the cloning engines: checks, transcripts, content hashing.

No torch needed: voices are resolved at plan time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.engines.checkpoints import write_voice
from ttsbuild.core.errors import VoiceError
from ttsbuild.engines.chatterbox import ChatterboxEngine, ChatterboxMultilingualEngine
from ttsbuild.engines.f5tts import F5TTSEngine
from ttsbuild.engines.reference import normalize_transcript

CLONERS = [ChatterboxEngine(), ChatterboxMultilingualEngine(), F5TTSEngine()]


@pytest.fixture
def voice_file(tmp_path: Path) -> Path:
    return write_voice(tmp_path / "voices" / "alice.wav", 190)


def test_reencoding_keeps_the_hash_and_new_audio_changes_it(tmp_path: Path, voice_file: Path):
    engine = ChatterboxEngine()
    data, rate = sf.read(str(voice_file), dtype="int16")
    flac = tmp_path / "voices" / "alice.flac"
    sf.write(str(flac), data, rate, subtype="PCM_16")
    wav16 = tmp_path / "voices" / "alice16.wav"
    sf.write(str(wav16), data, rate, subtype="PCM_16")
    assert engine.voice(str(flac), "", str(tmp_path)).content_hash == (
        engine.voice(str(wav16), "", str(tmp_path)).content_hash
    )
    other = write_voice(tmp_path / "voices" / "bob.wav", 120)
    assert engine.voice(str(other), "", str(tmp_path)).content_hash != (
        engine.voice(str(voice_file), "", str(tmp_path)).content_hash
    )


def test_any_rate_and_channel_count(tmp_path: Path):
    stereo = write_voice(tmp_path / "stereo.wav", 150, rate=44100, channels=2)
    voice = ChatterboxEngine().voice(str(stereo), "", str(tmp_path))
    assert len(voice.content_hash) == 64 and voice.reference == str(stereo)


@pytest.mark.parametrize("engine", CLONERS, ids=lambda e: e.info.name)
def test_unusable_references_are_clear_errors(tmp_path: Path, engine):
    text = "Hello there."
    with pytest.raises(VoiceError, match=r"reference audio '.*missing\.wav' not found"):
        engine.voice(str(tmp_path / "missing.wav"), text, str(tmp_path))
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    with pytest.raises(VoiceError, match=r"corrupt\.wav' cannot be decoded"):
        engine.voice(str(corrupt), text, str(tmp_path))
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(48000, dtype=np.float32), 24000)
    with pytest.raises(VoiceError, match=r"silent\.wav' is silent"):
        engine.voice(str(silent), text, str(tmp_path))
    short = write_voice(tmp_path / "short.wav", 200, seconds=0.5)
    with pytest.raises(VoiceError, match=r"short\.wav' is 0\.50 s long; .* at least 1 s"):
        engine.voice(str(short), text, str(tmp_path))
    with pytest.raises(VoiceError, match="set 'voice' to a reference audio file"):
        engine.voice("bundled", text, str(tmp_path))


def test_f5_needs_a_transcript_from_config_or_sidecar(tmp_path: Path, voice_file: Path):
    engine = F5TTSEngine()
    with pytest.raises(
        VoiceError, match=r"needs the transcript of .*alice\.wav.*alice\.reference\.txt"
    ):
        engine.voice(str(voice_file), "", str(tmp_path))
    sidecar = voice_file.with_name("alice.reference.txt")
    sidecar.write_text("Some call me\nnature", encoding="utf-8")
    assert (
        engine.voice(str(voice_file), "", str(tmp_path)).reference_text == "Some call me nature. "
    )
    # config wins over the sidecar
    assert engine.voice(
        str(voice_file), "Others call me mother.", str(tmp_path)
    ).reference_text == ("Others call me mother. ")
    # a transcript changes the voice (it enters segment keys); Chatterbox ignores transcripts
    assert ChatterboxEngine().voice(str(voice_file), "words", str(tmp_path)).reference_text == ""


def test_f5_rejects_references_longer_than_it_uses(tmp_path: Path):
    long = write_voice(tmp_path / "long.wav", 180, seconds=14)
    with pytest.raises(
        VoiceError, match=r"long\.wav' is 14\.0 s long; engine 'f5tts' takes at most 12 s"
    ):
        F5TTSEngine().voice(str(long), "Words.", str(tmp_path))
    ChatterboxEngine().voice(str(long), "", str(tmp_path))  # Chatterbox uses the first seconds


def test_transcript_normalization():
    assert normalize_transcript("Hello.") == "Hello. "
    assert normalize_transcript("你好。") == "你好。"
    assert normalize_transcript("   ") == ""


def test_engine_info_is_cheap_and_declares_params():
    for engine in CLONERS:
        specs = engine.info.param_specs()
        assert {"seed", "speed", "pitch"} <= set(specs)
        assert engine.info.uses_torch and engine.info.needs_reference_audio
    assert ChatterboxEngine.info.languages == frozenset({"en"})
    assert len(ChatterboxMultilingualEngine.info.languages or ()) == 23
    assert F5TTSEngine.info.needs_reference_text
    cb = ChatterboxEngine.info.param_specs()
    assert cb["max_new_tokens"].resolve(40.4) == 40.0 and cb["exaggeration"].default == 0.5
    assert F5TTSEngine.info.param_specs()["nfe_step"].default == 32


def test_every_engine_parameter_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "engines.md").read_text(encoding="utf-8")
    for engine in CLONERS:
        for spec in engine.info.params:
            assert f"| `{spec.name}` | " in doc, (engine.info.name, spec.name)


def test_piper_voice_needs_its_onnx_json_at_plan_time(tmp_path: Path):
    from ttsbuild.engines.piper import PiperEngine

    engine = PiperEngine()
    model = tmp_path / "voices" / "de_DE-thorsten-low.onnx"
    model.parent.mkdir()
    model.write_bytes(b"onnx model bytes")
    with pytest.raises(
        VoiceError, match=r"has no config file 'voices/de_DE-thorsten-low\.onnx\.json'"
    ):
        engine.voice("voices/de_DE-thorsten-low.onnx", "", str(tmp_path))
    config = model.with_name(model.name + ".json")
    config.write_text("{not json", encoding="utf-8")
    with pytest.raises(VoiceError, match=r"\.onnx\.json' is not valid JSON"):
        engine.voice("voices/de_DE-thorsten-low.onnx", "", str(tmp_path))
    config.write_text('{"phoneme_type": "espeak"}', encoding="utf-8")
    with pytest.raises(VoiceError, match="has no 'audio' section"):
        engine.voice("voices/de_DE-thorsten-low.onnx", "", str(tmp_path))
    config.write_text('{"audio": {"sample_rate": 16000}, "language": {"code": "de_DE"}}')
    voice = engine.voice("voices/de_DE-thorsten-low.onnx", "", str(tmp_path))
    assert engine.voice_languages(voice) == frozenset({"de"})


def test_check_reports_a_piper_voice_without_its_config(make_project, capsys):
    pytest.importorskip("piper")
    from ttsbuild.cli import commands as cli

    project = make_project(
        "characters:\n  narrator: {voice: voices/joe.onnx}\nepisodes:\n"
        "  ep1: {source: scripts/ep1.txt}\n",
        "Hello there.\n",
    )
    (project.path / "voices").mkdir()
    (project.path / "voices/joe.onnx").write_bytes(b"onnx")
    assert cli.main(["-C", str(project.path), "check"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.startswith("ttsbuild: error: config/config.yaml:2: characters.narrator: Piper voice")
    assert "has no config file 'voices/joe.onnx.json'" in err
