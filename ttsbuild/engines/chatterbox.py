"""Chatterbox (Resemble AI): voice cloning from a few seconds of reference audio.

Two engine names, one per model, because the two checkpoints are different models with
different tokenizers:

* ``chatterbox``: ``ChatterboxTTS``, English only. Lines in any other language are refused at
  plan time, so the English model and tokenizer are never used for another language.
* ``chatterbox-multilingual``: ``ChatterboxMultilingualTTS`` with ``language_id``, the 23
  languages of :data:`MULTILINGUAL_LANGUAGES`.

Give a character a per-language engine (``characters.<name>.languages.de.engine:
chatterbox-multilingual``) to use the English model for English and the multilingual one for
the rest; each model is then loaded once per build and shared by every character.

The adapter drives the library's own components (``T3.inference``, ``S3Gen.inference``,
``S3Gen.embed_ref``, ``VoiceEncoder.embeds_from_wavs``, the Perth watermarker) exactly as
``generate()`` does, with two differences that matter here: ``generate()`` keeps the voice
conditioning as mutable state on the shared model (unsafe under threads) and hard-codes
``max_new_tokens=1000``. Here conditioning is memoized per voice content hash and each request
builds its own, and ``max_new_tokens`` and ``cfm_steps`` are parameters.

T3's token loop is the adapter's own (:func:`generate_speech_tokens`), a line-for-line copy of
``T3.inference`` that runs several requests in one transformer batch; each request samples
from its own seeded ``torch.Generator``, so its tokens (and, decoded alone by S3Gen, its audio)
are the same in any batch and the same as ``T3.inference`` gives it alone
(tests/engines/test_batched.py).

torch and chatterbox are imported only in :meth:`ChatterboxEngine.load` and at synthesis.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import EngineError, RenderError

from . import weights
from .base import EngineInfo, EngineOptions, ParamSpec, RenderRequest, Voice
from .chatterbox_t3 import (
    _no_leaked_hooks,
    _Row,
    _t3_config_from_state,
    generate_speech_tokens,
    seed_everything,
)
from .reference import CloningEngine, ConditioningMemo, load_reference
from .requirements import CHATTERBOX_RUNTIME

log = logging.getLogger(__name__)

REPO_ID = "ResembleAI/chatterbox"
SAMPLE_RATE = 24000
#: Most requests in one batched T3 generation (``engines.<name>.batch_size`` is capped by it).
MAX_BATCH = 32
#: Longest reference accepted; Chatterbox itself uses the first 6 s (T3) and 10 s (S3Gen).
MAX_REFERENCE_SECONDS = 60.0

ENGLISH_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")
MULTILINGUAL_FILES = (
    "ve.pt",
    "t3_mtl23ls_v2.safetensors",
    "s3gen.pt",
    "grapheme_mtl_merged_expanded_v1.json",
)

#: ``chatterbox.mtl_tts.SUPPORTED_LANGUAGES`` (0.1.7), kept here so planning needs no torch.
MULTILINGUAL_LANGUAGES = frozenset(
    [
        "ar",
        "da",
        "de",
        "el",
        "en",
        "es",
        "fi",
        "fr",
        "he",
        "hi",
        "it",
        "ja",
        "ko",
        "ms",
        "nl",
        "no",
        "pl",
        "pt",
        "ru",
        "sv",
        "sw",
        "tr",
        "zh",
    ]
)


def _params(repetition_penalty: float) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("exaggeration", 0.5, 0.25, 2.0, help="emotion intensity; 0.5 is neutral"),
        ParamSpec(
            "cfg_weight", 0.5, 0.0, 1.0, help="classifier-free guidance; lower is slower speech"
        ),
        ParamSpec("temperature", 0.8, 0.05, 5.0, help="sampling temperature of the speech tokens"),
        ParamSpec(
            "repetition_penalty", repetition_penalty, 1.0, 3.0, help="penalty on repeated tokens"
        ),
        ParamSpec("min_p", 0.05, 0.0, 1.0, help="min-p sampling threshold"),
        ParamSpec("top_p", 1.0, 0.0, 1.0, help="top-p sampling threshold"),
        ParamSpec(
            "max_new_tokens",
            1000,
            1,
            4096,
            integer=True,
            help="cap on speech tokens (25 per second of audio); upstream hard-codes 1000",
        ),
        ParamSpec(
            "cfm_steps",
            10,
            1,
            100,
            integer=True,
            help="flow-matching steps of the S3Gen decoder (upstream default 10)",
        ),
    )


@dataclass(frozen=True)
class _VoiceConditioning:
    """What Chatterbox derives from a reference; never mutated after it is built."""

    speaker_emb: Any  # (1, 256) voice-encoder embedding
    prompt_tokens: Any  # (1, <=150) S3 speech tokens of the first 6 s
    gen: dict[str, Any]  # S3Gen reference dict (prompt tokens, mels, x-vector)


class ChatterboxModel:
    """One loaded Chatterbox model (English or multilingual), shared by all its voices."""

    def __init__(self, tts: Any, multilingual: bool, device: str):
        self.tts = tts
        self.multilingual = multilingual
        self.device = device
        self._lock = threading.Lock()  # one generation at a time: RNG and T3's backend are shared
        self._conditioning = ConditioningMemo()

    @property
    def voices_conditioned(self) -> int:
        return len(self._conditioning)

    def _condition(self, voice: Voice) -> _VoiceConditioning:
        """Chatterbox's ``prepare_conditionals``, returning a value instead of storing it."""
        import torch
        from chatterbox.models.s3gen import S3GEN_SR
        from chatterbox.models.s3tokenizer import S3_SR

        tts = self.tts
        ref24 = load_reference(voice, S3GEN_SR)
        ref16 = ref24.resampled(S3_SR).samples
        with torch.inference_mode():
            gen = tts.s3gen.embed_ref(
                np.array(ref24.samples[: tts.DEC_COND_LEN]), S3GEN_SR, device=self.device
            )
            plen = tts.t3.hp.speech_cond_prompt_len
            tokens, _ = tts.s3gen.tokenizer.forward(
                [np.array(ref16[: tts.ENC_COND_LEN])], max_len=plen
            )
            tokens = torch.atleast_2d(tokens).to(self.device)
            embeds = tts.ve.embeds_from_wavs([np.array(ref16)], sample_rate=S3_SR)
            speaker = torch.from_numpy(embeds).mean(dim=0, keepdim=True).to(self.device)
        return _VoiceConditioning(speaker, tokens, gen)

    def _text_tokens(self, request: RenderRequest) -> Any:
        import torch
        import torch.nn.functional as F

        if self.multilingual:
            from chatterbox.mtl_tts import punc_norm

            text = punc_norm(request.text)
            tokens = self.tts.tokenizer.text_to_tokens(text, language_id=request.language)
        else:
            from chatterbox.tts import punc_norm

            if request.language != "en":  # the plan refuses this; never run English on German
                raise EngineError(
                    f"engine 'chatterbox' is English only, got language '{request.language}'; "
                    "use chatterbox-multilingual"
                )
            tokens = self.tts.tokenizer.text_to_tokens(punc_norm(request.text))
        tokens = tokens.to(self.device)
        tokens = torch.cat([tokens, tokens], dim=0)  # conditional and unconditional (CFG) rows
        hp = self.tts.t3.hp
        tokens = F.pad(tokens, (1, 0), value=hp.start_text_token)
        return F.pad(tokens, (0, 1), value=hp.stop_text_token)

    def _row(self, request: RenderRequest) -> _Row:
        """One request's T3 input: its conditioning, prompt embeddings and RNG stream."""
        import torch
        from chatterbox.models.t3.modules.cond_enc import T3Cond

        p = request.param
        cond = self._conditioning.get(
            request.voice.content_hash, lambda: self._condition(request.voice)
        )
        assert isinstance(cond, _VoiceConditioning)
        t3 = self.tts.t3
        t3_cond = T3Cond(  # built per request: T3 writes into it (cond_prompt_speech_emb)
            speaker_emb=cond.speaker_emb,
            cond_prompt_speech_tokens=cond.prompt_tokens,
            emotion_adv=p("exaggeration", 0.5) * torch.ones(1, 1, 1),
        ).to(device=self.device)
        text_tokens = self._text_tokens(request)
        cfg_weight = p("cfg_weight", 0.5)
        # T3.inference's input: conditioning, text, a start-of-speech token, then BOS again
        start = t3.hp.start_speech_token * torch.ones_like(text_tokens[:, :1])
        embeds, len_cond = t3.prepare_input_embeds(
            t3_cond=t3_cond, text_tokens=text_tokens, speech_tokens=start, cfg_weight=cfg_weight
        )
        bos = torch.tensor([[t3.hp.start_speech_token]], dtype=torch.long, device=embeds.device)
        bos_embed = t3.speech_emb(bos) + t3.speech_pos_emb.get_fixed_embedding(0)
        embeds = torch.cat([embeds, torch.cat([bos_embed, bos_embed])], dim=1)
        generator = torch.Generator(device=embeds.device).manual_seed(request.seed)
        return _Row(
            request=request,
            cond=cond,
            embeds=embeds,
            text_slice=(len_cond, len_cond + text_tokens.size(-1)),
            generator=generator,
            max_new_tokens=int(p("max_new_tokens", 1000)),
        )

    def synthesize(self, request: RenderRequest) -> Audio:
        return self.synthesize_batch([request])[0]

    def synthesize_batch(self, requests: Sequence[RenderRequest]) -> list[Audio]:
        """T3 token generation for all requests in one batched loop, then S3Gen per request.

        A request's tokens are what ``T3.inference`` samples for it alone (its own seeded RNG
        stream, its own CFG pair, stopping and sampling parameters); see
        :func:`generate_speech_tokens`. S3Gen decodes one request at a time: its flow decoder
        takes one reference prompt per batch and draws the noise of the whole batch from one
        RNG, so a batched decode would not equal a single one.
        """
        import torch

        with self._lock:
            with torch.inference_mode():
                rows = [self._row(r) for r in requests]
                with _no_leaked_hooks(self.tts.t3):
                    tokens = generate_speech_tokens(self.tts.t3, rows)
            return [self._decode(row, speech) for row, speech in zip(rows, tokens)]

    def _decode(self, row: _Row, speech: Any) -> Audio:
        """S3Gen waveform for one request's tokens, under the RNG state T3 left for it."""
        import torch
        from chatterbox.models.s3tokenizer import drop_invalid_tokens

        p = row.request.param
        seed_everything(row.request.seed)
        if row.generator.device.type == "cpu":
            torch.set_rng_state(row.generator.get_state())
        else:
            torch.cuda.set_rng_state(row.generator.get_state(), row.generator.device)
        with torch.inference_mode():
            generated = int(speech.numel())
            speech = drop_invalid_tokens(speech)
            speech = speech[speech < 6561].to(self.device)  # speech vocabulary only
            if speech.numel() == 0:
                raise RenderError("chatterbox generated no speech tokens")
            wav, _ = self.tts.s3gen.inference(
                speech_tokens=speech,
                ref_dict=dict(row.cond.gen),
                n_cfm_timesteps=int(p("cfm_steps", 10)),
            )
            samples = wav.squeeze(0).detach().cpu().numpy().astype(np.float32)
        if generated >= row.max_new_tokens:
            log.warning(
                "chatterbox: generation hit max_new_tokens=%d without a stop token",
                row.max_new_tokens,
            )
        if not np.all(np.isfinite(samples)):
            raise RenderError("chatterbox returned NaN or infinite samples")
        samples = self.tts.watermarker.apply_watermark(samples, sample_rate=self.tts.sr)
        audio = Audio.from_array(samples, self.tts.sr)
        speed = p("speed", 1.0)
        return audio.time_stretched(1.0 / speed) if speed != 1.0 else audio


def _load_state(path: Path) -> dict[str, Any]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    return torch.load(str(path), map_location="cpu", weights_only=True)


def _info(
    name: str, languages: frozenset[str], repetition_penalty: float, model: str
) -> EngineInfo:
    return EngineInfo(
        name=name,
        sample_rate=SAMPLE_RATE,
        languages=languages,
        needs_reference_audio=True,
        needs_reference_text=False,
        params=_params(repetition_penalty),
        default_model=model,
        description=f"Chatterbox ({model}, ResembleAI/chatterbox): zero-shot voice cloning",
        uses_torch=True,
        runtime=CHATTERBOX_RUNTIME,
        # T3 batches any mix of voices, languages and parameters (each request keeps its own
        # conditioning, CFG pair, sampling and stopping); S3Gen decodes one at a time.
        max_batch=MAX_BATCH,
    )


class ChatterboxEngine(CloningEngine):
    """Chatterbox English (``ChatterboxTTS``)."""

    multilingual = False
    files = ENGLISH_FILES
    info = _info("chatterbox", frozenset({"en"}), 1.2, "chatterbox-en")
    package = "chatterbox-tts"
    extra = "chatterbox"
    max_reference_seconds = MAX_REFERENCE_SECONDS

    def model_id(self, options: EngineOptions) -> str:
        if options.model and options.model != self.info.default_model:
            raise EngineError(
                f"engine '{self.info.name}' has one model, '{self.info.default_model}'; "
                f"remove engines.{self.info.name}.model ('{options.model}')"
            )
        if options.checkpoint_dir:
            return f"{self.info.default_model}@{weights.fingerprint(self.info.name, options.checkpoint_dir, self.files)}"
        return self.info.default_model

    def checkpoint_files(self, options: EngineOptions) -> dict[str, Path]:
        if options.checkpoint_dir:
            return weights.local_files(self.info.name, options.checkpoint_dir, self.files)
        return weights.hub_files(self.info.name, REPO_ID, self.files)

    def load(self, options: EngineOptions) -> ChatterboxModel:
        """Build the model from its checkpoint files, as ``from_local`` does."""
        files = self.checkpoint_files(options)
        try:
            return self._build(files, options.device)
        except ImportError as exc:
            raise EngineError(
                f"engine '{self.info.name}' cannot be imported ({exc}); see docs/engines.md"
            ) from None
        except EngineError:
            raise
        except Exception as exc:  # the files are there but do not load: corrupt, wrong model
            raise weights.load_failed(
                self.info.name, options.checkpoint_dir or REPO_ID, exc
            ) from exc

    def _build(self, files: dict[str, Path], device: str) -> ChatterboxModel:
        from chatterbox.models.s3gen import S3Gen
        from chatterbox.models.t3 import T3
        from chatterbox.models.voice_encoder import VoiceEncoder

        names = self.files
        ve = VoiceEncoder()
        ve.load_state_dict(_load_state(files[names[0]]))
        ve.to(device).eval()

        t3_state = _load_state(files[names[1]])
        if "model" in t3_state:
            t3_state = t3_state["model"][0]
        t3 = T3(_t3_config_from_state(t3_state, self.multilingual))
        t3.load_state_dict(t3_state)
        t3.to(device).eval()

        s3gen = S3Gen()
        s3gen.load_state_dict(_load_state(files[names[2]]), strict=False)
        s3gen.to(device).eval()

        if self.multilingual:
            from chatterbox.models.tokenizers import MTLTokenizer
            from chatterbox.mtl_tts import ChatterboxMultilingualTTS

            tts = ChatterboxMultilingualTTS(
                t3, s3gen, ve, MTLTokenizer(str(files[names[3]])), device
            )
        else:
            from chatterbox.models.tokenizers import EnTokenizer
            from chatterbox.tts import ChatterboxTTS

            tts = ChatterboxTTS(t3, s3gen, ve, EnTokenizer(str(files[names[3]])), device)
        return ChatterboxModel(tts, self.multilingual, device)


class ChatterboxMultilingualEngine(ChatterboxEngine):
    """Chatterbox multilingual (``ChatterboxMultilingualTTS``, 23 languages)."""

    multilingual = True
    files = MULTILINGUAL_FILES
    info = _info("chatterbox-multilingual", MULTILINGUAL_LANGUAGES, 2.0, "chatterbox-mtl23ls-v2")
