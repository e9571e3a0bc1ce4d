"""Batched inference (engines.<name>.batch_size) gives each segment what it gets alone.

Real Chatterbox (English and multilingual) classes with random weights: per request, the
batched T3 loop samples the same tokens as upstream ``T3.inference`` alone, and the decoded
audio is byte-identical, whatever else shares the batch (other voices, languages, parameters,
lengths and stopping points).
"""

from __future__ import annotations

import numpy as np

from tests.engines.conftest import CHATTERBOX_TEST_PARAMS as SMALL
from tests.engines.support import make_request
from ttsbuild.engines import EngineOptions


def upstream_synthesize(model, request) -> np.ndarray:
    """What the adapter did before batching: upstream ``T3.inference`` under the global seed,
    then S3Gen and the watermark, as ``ChatterboxTTS.generate`` does (the reference path)."""
    import torch
    from chatterbox.models.s3tokenizer import drop_invalid_tokens
    from chatterbox.models.t3.modules.cond_enc import T3Cond

    from ttsbuild.engines.chatterbox_t3 import _no_leaked_hooks, seed_everything

    p = request.param
    cond = model._conditioning.get(
        request.voice.content_hash, lambda: model._condition(request.voice)
    )
    seed_everything(request.seed)
    t3_cond = T3Cond(
        speaker_emb=cond.speaker_emb,
        cond_prompt_speech_tokens=cond.prompt_tokens,
        emotion_adv=p("exaggeration") * torch.ones(1, 1, 1),
    )
    with torch.inference_mode(), _no_leaked_hooks(model.tts.t3):
        speech = model.tts.t3.inference(
            t3_cond=t3_cond,
            text_tokens=model._text_tokens(request),
            max_new_tokens=int(p("max_new_tokens")),
            temperature=p("temperature"),
            cfg_weight=p("cfg_weight"),
            repetition_penalty=p("repetition_penalty"),
            min_p=p("min_p"),
            top_p=p("top_p"),
        )[0]
        speech = drop_invalid_tokens(speech)
        speech = speech[speech < 6561]
        wav, _ = model.tts.s3gen.inference(
            speech_tokens=speech, ref_dict=dict(cond.gen), n_cfm_timesteps=int(p("cfm_steps"))
        )
    samples = wav.squeeze(0).numpy().astype(np.float32)
    return model.tts.watermarker.apply_watermark(samples, sample_rate=model.tts.sr)


def tokens(model, requests):
    import torch

    from ttsbuild.engines.chatterbox_t3 import _no_leaked_hooks, generate_speech_tokens

    with model._lock, torch.inference_mode(), _no_leaked_hooks(model.tts.t3):
        return [
            t.tolist()
            for t in generate_speech_tokens(model.tts.t3, [model._row(r) for r in requests])
        ]


def mixed_requests(engine: str, voices, languages=("en",)):
    """Different texts (so prompts are padded), voices, parameters and stopping points."""
    lines = [
        ("Hi.", {}),
        ("Hello there, Bob, how are you today?", {"temperature": 0.5, "cfg_weight": 0.3}),
        (
            "A much longer line, so that the others are left-padded by quite a few tokens.",
            {"exaggeration": 0.9, "max_new_tokens": 12},
        ),
        ("Second line.", {"cfg_weight": 0.0, "top_p": 0.8, "repetition_penalty": 1.5}),
        ("Last one here, at a faster speed.", {"speed": 1.25, "min_p": 0.1, "max_new_tokens": 20}),
    ]
    out = []
    for i, (text, params) in enumerate(lines):
        voice = voices["abc"[i % 3]]
        language = languages[i % len(languages)]
        out.append(
            make_request(
                engine, text, voice, language=language, seed=100 + i, **{**SMALL, **params}
            )
        )
    return out


def test_chatterbox_batch_tokens_and_audio_equal_one_at_a_time(en_model, voices):
    requests = mixed_requests("chatterbox", voices)
    alone = [tokens(en_model, [r])[0] for r in requests]
    assert tokens(en_model, requests) == alone
    # another composition: a segment's tokens do not depend on its neighbours
    assert tokens(en_model, [requests[3], requests[1]]) == [alone[3], alone[1]]
    assert [len(t) for t in alone] == [30, 30, 12, 30, 20]  # per-request stopping
    single = [en_model.synthesize(r).samples.tobytes() for r in requests]
    batched = [a.samples.tobytes() for a in en_model.synthesize_batch(requests)]
    assert batched == single


def test_chatterbox_single_render_equals_the_upstream_path(en_model, voices):
    """The adapter's own token loop, batch of one, is upstream ``T3.inference`` bit for bit."""
    for request in mixed_requests("chatterbox", voices)[:3]:
        if request.param("speed") != 1.0:
            continue
        assert (
            en_model.synthesize(request).samples.tobytes()
            == upstream_synthesize(en_model, request).tobytes()
        )


def test_multilingual_batch_mixes_languages_and_equals_one_at_a_time(mtl_model, voices):
    requests = mixed_requests("chatterbox-multilingual", voices, languages=("de", "fr", "en"))
    alone = [tokens(mtl_model, [r])[0] for r in requests]
    assert tokens(mtl_model, requests) == alone
    single = [mtl_model.synthesize(r).samples.tobytes() for r in requests]
    assert [a.samples.tobytes() for a in mtl_model.synthesize_batch(requests)] == single
    assert (
        mtl_model.synthesize(requests[0]).samples.tobytes()
        == upstream_synthesize(mtl_model, requests[0]).tobytes()
    )
    hooks = sum(len(layer.self_attn._forward_hooks) for layer in mtl_model.tts.t3.tfmr.layers)
    assert hooks == 0  # the per-request alignment analyzers leave no hooks behind


def test_render_jobs_in_batches_write_the_same_files_as_one_at_a_time(
    chatterbox_en_dir, voices, tmp_path
):
    """A clean build with inference batches gives byte-identical segment files to one without."""
    from ttsbuild.rendering.batch import RenderJob
    from ttsbuild.rendering.models import release_models
    from ttsbuild.rendering.render import render_jobs
    from ttsbuild.store.segments import segment_path

    requests = mixed_requests("chatterbox", voices)[:4]
    jobs = [RenderJob(f"{i:020x}", r, f"ep1.txt:{i}", "alice") for i, r in enumerate(requests)]
    files = {}
    for size in (1, 4):
        options = {
            "chatterbox": EngineOptions.from_dict(
                {"device": "cpu", "checkpoint_dir": str(chatterbox_en_dir), "batch_size": size}
            )
        }
        store = tmp_path / f"b{size}"
        assert render_jobs(jobs, store, options) == 4
        files[size] = [segment_path(store, j.key).read_bytes() for j in jobs]
    release_models()
    assert files[1] == files[4]
