"""F5-TTS (SWivid): flow-matching voice cloning from a reference clip and its transcript.

The transcript is always passed (from config ``reference_text`` or the sidecar
``<voice>.reference.txt``): without it F5-TTS would load Whisper large-v3-turbo to transcribe the
reference, a multi-GB download and a second model per process.

The adapter uses F5-TTS's own loaders and inference (``f5_tts.infer.utils_infer.load_model``,
``load_vocoder``, ``chunk_text``, ``infer_batch_process``: what ``F5TTS`` and ``f5-tts_infer-cli``
call), with three differences from ``F5TTS.infer``: the reference is decoded with soundfile
(``torchaudio.load`` needs torchcodec, which needs CUDA), it is decoded once per voice content
hash rather than per call, and text batches run one after another under the seed (upstream runs
them in a thread pool, which makes the random draws depend on thread timing).

torch and f5_tts are imported only in :meth:`F5TTSEngine.load` and at synthesis.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ttsbuild.core.audio import Audio, concat
from ttsbuild.core.errors import EngineError

from . import weights
from .base import EngineInfo, EngineOptions, ParamSpec, RenderRequest, Voice
from .reference import CloningEngine, ConditioningMemo, load_reference
from .requirements import F5_RUNTIME

log = logging.getLogger(__name__)

REPO_ID = "SWivid/F5-TTS"
VOCOS_REPO_ID = "charactr/vocos-mel-24khz"
VOCOS_FILES = ("config.yaml", "pytorch_model.bin")
SAMPLE_RATE = 24000
DEFAULT_MODEL = "F5TTS_v1_Base"
#: Released checkpoints on the hub, by model (config) name.
HUB_CHECKPOINTS = {
    "F5TTS_v1_Base": "F5TTS_v1_Base/model_1250000.safetensors",
    "F5TTS_Base": "F5TTS_Base/model_1200000.safetensors",
}
#: F5-TTS clips longer references to 12 s; ttsbuild asks for a clip that fits instead, so the
#: transcript always matches the audio.
MAX_REFERENCE_SECONDS = 12.0
BATCH_GAP_S = 0.15

PARAMS = (
    ParamSpec("nfe_step", 32, 1, 128, integer=True, help="flow-matching (ODE) steps"),
    ParamSpec("cfg_strength", 2.0, 0.0, 10.0, help="classifier-free guidance strength"),
    ParamSpec("sway_sampling_coef", -1.0, -1.0, 1.0, help="sway sampling of the ODE time steps"),
)


class F5Model:
    """One loaded F5-TTS model and its vocoder, shared by all voices."""

    def __init__(self, model: Any, vocoder: Any, device: str):
        self.model = model
        self.vocoder = vocoder
        self.device = device
        self._lock = threading.Lock()  # one generation at a time: the RNG is process-wide
        self._references = ConditioningMemo()

    def _reference(self, voice: Voice) -> Any:
        import torch

        samples = load_reference(voice, SAMPLE_RATE).samples
        return torch.from_numpy(np.array(samples)).unsqueeze(0)  # (1, N), read-only by use

    def synthesize(self, request: RenderRequest) -> Audio:
        from f5_tts.infer.utils_infer import chunk_text, infer_batch_process
        from f5_tts.model.utils import seed_everything

        p = request.param
        speed = p("speed", 1.0)
        ref_text = request.voice.reference_text
        with self._lock:
            ref: Any = self._references.get(
                request.voice.content_hash, lambda: self._reference(request.voice)
            )
            ref_seconds = ref.shape[-1] / SAMPLE_RATE
            # infer_process's batch size: as many characters as fit 22 s with the reference
            max_chars = int(
                len(ref_text.encode("utf-8")) / ref_seconds * (22 - ref_seconds) * speed
            )
            batches = chunk_text(request.text, max_chars=max(max_chars, 1))
            seed_everything(request.seed)
            parts: list[Audio] = []
            for text in batches:
                wave, rate, _ = next(
                    infer_batch_process(
                        (ref, SAMPLE_RATE),
                        ref_text,
                        [text],
                        self.model,
                        self.vocoder,
                        mel_spec_type="vocos",
                        progress=None,
                        nfe_step=int(p("nfe_step", 32)),
                        cfg_strength=p("cfg_strength", 2.0),
                        sway_sampling_coef=p("sway_sampling_coef", -1.0),
                        speed=speed,
                        device=self.device,
                    )
                )
                if parts:
                    parts.append(Audio.silence(int(BATCH_GAP_S * rate), rate))
                parts.append(Audio.from_array(np.asarray(wave, dtype=np.float32), rate))
        return concat(parts, SAMPLE_RATE)


class F5TTSEngine(CloningEngine):
    info = EngineInfo(
        name="f5tts",
        sample_rate=SAMPLE_RATE,
        languages=frozenset({"en", "zh"}),  # F5TTS_v1_Base was trained on Emilia ZH+EN
        needs_reference_audio=True,
        needs_reference_text=True,
        params=PARAMS,
        default_model=DEFAULT_MODEL,
        description="F5-TTS (SWivid/F5-TTS): voice cloning from a reference clip and transcript",
        uses_torch=True,
        runtime=F5_RUNTIME,
    )
    package = "f5-tts"
    extra = "f5"
    max_reference_seconds = MAX_REFERENCE_SECONDS

    # ------------------------------------------------------------ checkpoint folder layout
    def _local_layout(self, folder: str) -> dict[str, Path]:
        """Files of a local checkpoint folder: the weights, and optional config/vocab/vocoder."""
        base = Path(folder)
        if not base.is_dir():
            weights.local_files(self.info.name, base, ())  # raises: not a folder
        found = sorted([*base.glob("model*.safetensors"), *base.glob("model*.pt")])
        if len(found) != 1:
            what = "none" if not found else ", ".join(f.name for f in found)
            raise EngineError(
                f"engine 'f5tts': checkpoint_dir '{base}' must hold exactly one model*.safetensors "
                f"or model*.pt file (found {what}; config key engines.f5tts.checkpoint_dir)"
            )
        layout = {"weights": found[0]}
        for key, name in (("config", "model.yaml"), ("vocab", "vocab.txt")):
            if (base / name).is_file():
                layout[key] = base / name
        if (base / "vocos").is_dir():
            layout.update(
                (f"vocos/{f}", p)
                for f, p in weights.local_files(self.info.name, base / "vocos", VOCOS_FILES).items()
            )
        return layout

    def model_id(self, options: EngineOptions) -> str:
        name = options.model or DEFAULT_MODEL
        if options.checkpoint_dir:
            layout = self._local_layout(options.checkpoint_dir)
            files = [str(p.relative_to(options.checkpoint_dir)) for p in layout.values()]
            return f"{name}@{weights.fingerprint(self.info.name, options.checkpoint_dir, files)}"
        if name not in HUB_CHECKPOINTS:
            raise EngineError(
                f"engine 'f5tts': no released checkpoint named '{name}' (known: "
                f"{', '.join(sorted(HUB_CHECKPOINTS))}); for other weights set "
                "engines.f5tts.checkpoint_dir"
            )
        return name

    def load(self, options: EngineOptions) -> F5Model:
        name = options.model or DEFAULT_MODEL
        if options.checkpoint_dir:
            layout = self._local_layout(options.checkpoint_dir)
        else:
            self.model_id(options)  # validates the name
            layout = {
                "weights": weights.hub_files(self.info.name, REPO_ID, [HUB_CHECKPOINTS[name]])[
                    HUB_CHECKPOINTS[name]
                ]
            }
        if "vocos/config.yaml" not in layout:
            hub = weights.hub_files(self.info.name, VOCOS_REPO_ID, VOCOS_FILES)
            layout.update((f"vocos/{f}", p) for f, p in hub.items())
        try:
            return self._build(name, layout, options.device)
        except ImportError as exc:
            raise EngineError(
                f"engine 'f5tts' cannot be imported ({exc}); see docs/engines.md"
            ) from None
        except EngineError:
            raise
        except Exception as exc:  # the files are there but do not load: corrupt, wrong model
            raise weights.load_failed("f5tts", options.checkpoint_dir or REPO_ID, exc) from exc

    def _build(self, name: str, layout: dict[str, Path], device: str) -> F5Model:
        from importlib.resources import files

        from f5_tts.infer.utils_infer import load_model, load_vocoder
        from hydra.utils import get_class
        from omegaconf import OmegaConf

        config = layout.get("config") or Path(str(files("f5_tts").joinpath(f"configs/{name}.yaml")))
        if not config.is_file():
            raise EngineError(
                f"engine 'f5tts': no model config for '{name}': put its model.yaml (the 'model:' "
                "section of an F5-TTS training config) in engines.f5tts.checkpoint_dir"
            )
        cfg = OmegaConf.load(str(config)).model
        if cfg.mel_spec.mel_spec_type != "vocos":
            raise EngineError(
                f"engine 'f5tts': {config} uses the {cfg.mel_spec.mel_spec_type} vocoder; only "
                "vocos is supported"
            )
        chatter = io.StringIO()  # F5-TTS prints progress while loading; keep it in the debug log
        with contextlib.redirect_stdout(chatter):
            vocoder = load_vocoder(
                "vocos",
                is_local=True,
                local_path=str(layout["vocos/config.yaml"].parent),
                device=device,
            )
            model = load_model(
                get_class(f"f5_tts.model.{cfg.backbone}"),
                cfg.arch,
                str(layout["weights"]),
                mel_spec_type="vocos",
                vocab_file=str(layout.get("vocab", "")),
                ode_method="euler",
                use_ema=True,
                device=device,
            )
        log.debug("f5tts load: %s", chatter.getvalue().strip())
        return F5Model(model, vocoder, device)
