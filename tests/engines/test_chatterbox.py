"""Chatterbox (English and multilingual) through the adapter, with random-weight checkpoints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from tests.engines.conftest import CHATTERBOX_TEST_PARAMS as SMALL
from tests.engines.support import make_request, render_concurrently
from ttsbuild.core.errors import EngineError, RenderError
from ttsbuild.engines import EngineOptions, get_engine


def test_english_render_is_seeded_and_uses_its_parameters(en_model, voices):
    request = make_request("chatterbox", "Hello there, Bob.", voices["a"], seed=7, **SMALL)
    first = en_model.synthesize(request)
    assert first.sample_rate == 24000
    assert np.all(np.isfinite(first.samples)) and first.peak() > 1e-3
    # at most 30 speech tokens at 25 per second (random ids outside the speech vocabulary drop)
    assert 0.3 < first.duration <= 30 / 25 + 0.05
    again = en_model.synthesize(request)
    assert again.samples.tobytes() == first.samples.tobytes()
    reseeded = en_model.synthesize(
        make_request("chatterbox", "Hello there, Bob.", voices["a"], seed=8, **SMALL)
    )
    assert reseeded.samples.tobytes() != first.samples.tobytes()
    colder = en_model.synthesize(
        make_request(
            "chatterbox", "Hello there, Bob.", voices["a"], seed=7, temperature=0.05, **SMALL
        )
    )
    assert colder.samples.tobytes() != first.samples.tobytes()
    other_voice = en_model.synthesize(
        make_request("chatterbox", "Hello there, Bob.", voices["b"], seed=7, **SMALL)
    )
    assert other_voice.samples.tobytes() != first.samples.tobytes()
    assert en_model.voices_conditioned == 2  # conditioning memoized per voice content


def test_speed_is_honoured(en_model, voices):
    normal = en_model.synthesize(make_request("chatterbox", "Quick.", voices["a"], seed=3, **SMALL))
    fast = en_model.synthesize(
        make_request("chatterbox", "Quick.", voices["a"], seed=3, speed=1.5, **SMALL)
    )
    assert fast.duration == pytest.approx(normal.duration / 1.5, rel=0.05)


def test_multilingual_passes_the_language(mtl_model, en_model, voices):
    german_request = make_request(
        "chatterbox-multilingual", "Guten Tag.", voices["a"], language="de", seed=5, **SMALL
    )
    german = mtl_model.synthesize(german_request)
    assert np.all(np.isfinite(german.samples)) and german.peak() > 1e-3
    # the multilingual tokenizer gets language_id: the text starts with the language token
    vocab = mtl_model.tts.tokenizer.tokenizer.get_vocab()
    for language in ("de", "fr", "ja"):
        request = make_request(
            "chatterbox-multilingual", "Guten Tag.", voices["a"], language=language
        )
        tokens = mtl_model._text_tokens(request)[0].tolist()
        assert tokens[1] == vocab[f"[{language}]"], language
    # the English model is never used for another language, even if asked directly
    with pytest.raises(EngineError, match="English only"):
        en_model.synthesize(
            make_request("chatterbox", "Guten Tag.", voices["a"], language="de", **SMALL)
        )
    # no attention hooks pile up across calls (upstream leaves three per call)
    mtl_model.synthesize(german_request)
    hooks = sum(len(layer.self_attn._forward_hooks) for layer in mtl_model.tts.t3.tfmr.layers)
    assert hooks == 0


def test_two_threads_give_the_same_bytes_as_one(en_model, chatterbox_en_dir: Path, voices):
    engine = get_engine("chatterbox")
    requests = [
        make_request("chatterbox", "First line.", voices["a"], seed=11, **SMALL),
        make_request("chatterbox", "Second line.", voices["c"], seed=12, **SMALL),
    ]
    serial = [en_model.synthesize(r).samples.tobytes() for r in requests]
    shared = engine.load(
        EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(chatterbox_en_dir)})
    )
    # a fresh model: both threads condition their voice and generate at once
    assert render_concurrently(shared, requests) == serial


def test_runaway_generation_fails_the_segment(chatterbox_en_dir: Path, voices):
    from ttsbuild.rendering.render import synthesize

    # 350 tokens is up to 14 s of audio: far more than "Hi." warrants (random weights never stop)
    request = make_request("chatterbox", "Hi.", voices["a"], max_new_tokens=350, cfm_steps=1)
    options = EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(chatterbox_en_dir)})
    with pytest.raises(
        RenderError,
        match=r"ep1.txt:3 \(alice\): the engine returned 1\d\.\d s of audio, .*\(limit 9\.1 s\); the generation ran away",
    ):
        synthesize(request, options, "ep1.txt:3 (alice)")


def test_released_checkpoints_get_the_upstream_config():
    from ttsbuild.engines.chatterbox_t3 import t3_config

    assert t3_config(False).llama_config_name == "Llama_520M"
    assert t3_config(True).llama_config_name == "Llama_520M"
    assert t3_config(False, layers=2, intermediate=256).llama_config_name == "Llama_520M_L2_I256"


def test_missing_weights_are_a_clear_error(tmp_path: Path, chatterbox_en_dir: Path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "tokenizer.json").write_bytes((chatterbox_en_dir / "tokenizer.json").read_bytes())
    engine = get_engine("chatterbox")
    with pytest.raises(
        EngineError,
        match=r"lacks ve\.safetensors, t3_cfg\.safetensors, s3gen\.safetensors \(config key engines\.chatterbox\.checkpoint_dir",
    ):
        engine.load(EngineOptions.from_dict({"device": "cpu", "checkpoint_dir": str(partial)}))
    # No checkpoint_dir, an empty Hugging Face cache, offline: which files to put where.
    code = (
        "from ttsbuild.engines import get_engine, EngineOptions\n"
        "from ttsbuild.core.errors import EngineError\n"
        "try:\n    get_engine('chatterbox-multilingual').load(EngineOptions.from_dict({'device': 'cpu'}))\n"
        "except EngineError as exc:\n    print(exc)\n"
    )
    env = {
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    ).stdout.strip()
    assert out == (
        "engine 'chatterbox-multilingual': model weights not found and HF_HUB_OFFLINE is set: "
        "put ve.pt, t3_mtl23ls_v2.safetensors, s3gen.pt, grapheme_mtl_merged_expanded_v1.json "
        "(from https://huggingface.co/ResembleAI/chatterbox) in one folder and set "
        "engines.chatterbox-multilingual.checkpoint_dir to it in config/config.yaml"
    )
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))
