"""Chatterbox voice conversion (``ChatterboxVC``): a post stage that turns any engine's render
into a target voice given by a reference clip.

The converter follows the engine rules: registered by name (``chatterbox-vc``), torch and
chatterbox imported only in :meth:`ChatterboxVCEngine.load` and at conversion, the model loaded
once per build by the model manager, and the target voice identified by its reference clip's
content hash (:class:`~ttsbuild.core.request.Voice`), which is what the stage key holds.

It drives ``ChatterboxVC``'s own components as ``generate()`` does (``S3Gen.embed_ref`` for the
target, the S3 tokenizer on the 16 kHz input, ``S3Gen.inference``, the Perth watermarker), with
one difference: ``generate()`` keeps the target as mutable state on the shared model and reads
audio from files; here the target's conditioning is memoized per content hash and each call
builds its own, from audio values.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import EngineError, RenderError

from . import weights
from .base import EngineInfo, EngineOptions, RenderRequest, Voice
from .reference import CloningEngine, ConditioningMemo, load_reference

REPO_ID = "ResembleAI/chatterbox"
FILES = ("s3gen.safetensors",)
SAMPLE_RATE = 24000
#: A fixed seed for S3Gen's flow-matching noise, so a conversion is reproducible.
SEED = 0


class ChatterboxVCModel:
    """One loaded ``ChatterboxVC``, shared by every target voice."""

    def __init__(self, vc: Any, device: str):
        self.vc = vc
        self.device = device
        self._lock = threading.Lock()
        self._targets = ConditioningMemo()

    def synthesize(self, request: RenderRequest) -> Audio:
        raise RenderError(
            "'chatterbox-vc' converts audio, it does not speak text: use it under a "
            "character's 'convert:' (docs/engines.md)"
        )

    def _target(self, voice: Voice) -> dict[str, Any]:
        """``set_target_voice``, returning the reference dict instead of storing it."""
        import torch
        from chatterbox.models.s3gen import S3GEN_SR

        ref = load_reference(voice, S3GEN_SR).samples[: self.vc.DEC_COND_LEN]
        with torch.inference_mode():
            return dict(self.vc.s3gen.embed_ref(np.array(ref), S3GEN_SR, device=self.device))

    def convert(self, audio: Audio, voice: Voice) -> Audio:
        import torch
        from chatterbox.models.s3tokenizer import S3_SR

        with self._lock:
            target = self._targets.get(voice.content_hash, lambda: self._target(voice))
            assert isinstance(target, dict)
            torch.manual_seed(SEED)
            source = torch.from_numpy(audio.resampled(S3_SR).samples).float()
            with torch.inference_mode():
                tokens, _ = self.vc.s3gen.tokenizer(source.to(self.device)[None,])
                wav, _ = self.vc.s3gen.inference(speech_tokens=tokens, ref_dict=dict(target))
                samples = wav.squeeze(0).detach().cpu().numpy().astype(np.float32)
            if not np.all(np.isfinite(samples)):
                raise RenderError("chatterbox-vc returned NaN or infinite samples")
            samples = self.vc.watermarker.apply_watermark(samples, sample_rate=self.vc.sr)
        return Audio.from_array(samples, self.vc.sr)


class ChatterboxVCEngine(CloningEngine):
    """``ChatterboxVC`` from chatterbox-tts: S3Gen conditioned on a target reference clip."""

    info = EngineInfo(
        name="chatterbox-vc",
        sample_rate=SAMPLE_RATE,
        languages=None,
        needs_reference_audio=True,
        needs_reference_text=False,
        default_model="chatterbox-vc",
        description="Chatterbox voice conversion (ChatterboxVC): any render to a target voice",
        uses_torch=True,
    )
    package = "chatterbox-tts"
    extra = "chatterbox"
    max_reference_seconds = 60.0
    converts = True  # a post stage (characters.<name>.convert), not a TTS engine

    def model_id(self, options: EngineOptions) -> str:
        if options.checkpoint_dir:
            fingerprint = weights.fingerprint(self.info.name, options.checkpoint_dir, FILES)
            return f"{self.info.default_model}@{fingerprint}"
        return self.info.default_model

    def voice_languages(self, voice: Voice) -> frozenset[str]:
        return frozenset()  # a converter speaks no language of its own

    def load(self, options: EngineOptions) -> ChatterboxVCModel:
        """Build ``ChatterboxVC`` from ``s3gen.safetensors``, as ``from_local`` does."""
        if options.checkpoint_dir:
            files = weights.local_files(self.info.name, options.checkpoint_dir, FILES)
        else:
            files = weights.hub_files(self.info.name, REPO_ID, FILES)
        try:
            from chatterbox.models.s3gen import S3Gen
            from chatterbox.vc import ChatterboxVC
            from safetensors.torch import load_file
        except ImportError as exc:
            raise EngineError(
                f"engine '{self.info.name}' cannot be imported ({exc}); see docs/engines.md"
            ) from None
        try:
            s3gen = S3Gen()
            s3gen.load_state_dict(load_file(str(Path(files[FILES[0]])), device="cpu"), strict=False)
            s3gen.to(options.device).eval()
            return ChatterboxVCModel(ChatterboxVC(s3gen, options.device), options.device)
        except Exception as exc:  # the file is there but does not load
            raise weights.load_failed(
                self.info.name, options.checkpoint_dir or REPO_ID, exc
            ) from exc
