"""Reference audio for voice-cloning engines: checks at plan time, decoding at render time.

A character's voice is a short recording of the target speaker (any format soundfile decodes,
any rate, any channel count) and, for engines that need it, its transcript. Plan-time checks
turn every way a reference can be unusable into one :class:`VoiceError` naming the file. The
voice's identity in segment keys is the hash of its *decoded* audio
(:func:`ttsbuild.core.content.audio_content_hash`), so re-encoding a file keeps its segments and
replacing the recording re-renders exactly the lines of the characters that use it.

No torch here: this module is imported at plan time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ttsbuild.core.audio import Audio, read_audio
from ttsbuild.core.content import audio_content_hash
from ttsbuild.core.errors import EngineError, VoiceError

from .base import EngineInfo, Voice

log = logging.getLogger(__name__)

#: Shortest usable reference, in seconds (speaker embedding and prompt tokens need speech).
MIN_SECONDS = 1.0
#: Peak below which a reference counts as silent (about -54 dBFS).
SILENCE_PEAK = 2e-3
#: Suffix of the transcript sidecar: ``voices/alice.wav`` -> ``voices/alice.reference.txt``.
SIDECAR_SUFFIX = ".reference.txt"


def sidecar_path(reference: Path) -> Path:
    """Where a reference's transcript lives.

    >>> sidecar_path(Path("voices/alice.wav")).as_posix()
    'voices/alice.reference.txt'
    """
    return reference.with_name(reference.stem + SIDECAR_SUFFIX)


def decode_reference(path: Path) -> Audio:
    """Decode a reference to mono float32, or raise :class:`VoiceError` naming the file."""
    if not path.is_file():
        raise VoiceError(f"reference audio '{path}' not found")
    import soundfile

    try:
        return read_audio(path)
    except (soundfile.SoundFileError, RuntimeError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise VoiceError(
            f"reference audio '{path}' cannot be decoded ({reason}); use WAV, FLAC, OGG or MP3"
        ) from None


def check_reference(path: Path, *, engine: str, max_seconds: float | None = None) -> Audio:
    """Decode and check a reference: readable, long enough, not silent, finite."""
    audio = decode_reference(path)
    if not np.all(np.isfinite(audio.samples)):
        raise VoiceError(f"reference audio '{path}' contains NaN or infinite samples")
    if audio.duration < MIN_SECONDS:
        raise VoiceError(
            f"reference audio '{path}' is {audio.duration:.2f} s long; engine '{engine}' needs "
            f"at least {MIN_SECONDS:g} s of speech"
        )
    if audio.peak() < SILENCE_PEAK:
        raise VoiceError(f"reference audio '{path}' is silent")
    if max_seconds is not None and audio.duration > max_seconds:
        raise VoiceError(
            f"reference audio '{path}' is {audio.duration:.1f} s long; engine '{engine}' takes "
            f"at most {max_seconds:g} s (cut a clip, and its transcript, to fit)"
        )
    return audio


def normalize_transcript(text: str) -> str:
    """One line, single spaces, ending in sentence punctuation (as F5-TTS's own preprocessing).

    >>> normalize_transcript("  Hello   there\\n world ")
    'Hello there world. '
    """
    text = " ".join(text.split())
    if not text:
        return ""
    if text.endswith(("。", ". ")):
        return text
    return text + (" " if text.endswith(".") else ". ")


def reference_voice(
    reference: str,
    reference_text: str,
    project_dir: str,
    *,
    engine: str,
    needs_text: bool,
    max_seconds: float | None = None,
) -> Voice:
    """Resolve a character's reference audio (and transcript) into a checked :class:`Voice`.

    The transcript comes from config (``reference_text``), else from the sidecar file
    ``<voice>.reference.txt``; engines that do not use a transcript ignore both.
    """
    if reference in ("", "bundled"):
        raise VoiceError(f"engine '{engine}' clones a voice: set 'voice' to a reference audio file")
    path = Path(project_dir, reference)
    check_reference(path, engine=engine, max_seconds=max_seconds)
    text = ""
    if needs_text:
        text = reference_text
        sidecar = sidecar_path(path)
        if not text.strip() and sidecar.is_file():
            try:
                text = sidecar.read_text("utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise VoiceError(f"transcript '{sidecar}' cannot be read ({exc})") from None
        text = normalize_transcript(text)
        if not text:
            raise VoiceError(
                f"engine '{engine}' needs the transcript of '{path}': write it to "
                f"'{sidecar}' or set 'reference_text'"
            )
    return Voice(str(path), audio_content_hash(path), text)


def load_reference(voice: Voice, sample_rate: int) -> Audio:
    """The reference decoded to mono float32 at ``sample_rate`` (for the model's conditioning)."""
    return decode_reference(Path(voice.reference)).resampled(sample_rate)


class ConditioningMemo:
    """A model's per-voice conditioning, computed once per voice content hash; thread-safe.

    Values are treated as read-only by the caller: each request builds its own objects on top,
    so no request can change what another one sees.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, object] = {}

    def get(self, key: str, compute: Callable[[], object]) -> object:
        with self._lock:
            if key not in self._items:
                self._items[key] = compute()
                log.debug("conditioning computed for voice %s", key[:12])
            return self._items[key]

    def __len__(self) -> int:
        return len(self._items)


class CloningEngine:
    """What voice-cloning engines share: version from their package, reference-audio voices."""

    info: EngineInfo
    package: str = ""  # the distribution whose version enters every segment key
    extra: str = ""  # the ttsbuild extra that installs it
    max_reference_seconds: float | None = None

    def version(self) -> str:
        try:
            return f"{self.package}=={version(self.package)}"
        except PackageNotFoundError:
            raise EngineError(
                f"engine '{self.info.name}' is not installed: pip install 'ttsbuild[{self.extra}]' "
                "(CPU-only: .ci/install-engines.sh; see docs/engines.md)"
            ) from None

    def voice(self, reference: str, reference_text: str, project_dir: str) -> Voice:
        return reference_voice(
            reference,
            reference_text,
            project_dir,
            engine=self.info.name,
            needs_text=self.info.needs_reference_text,
            max_seconds=self.max_reference_seconds,
        )

    def voice_languages(self, voice: Voice) -> frozenset[str]:
        return self.info.languages or frozenset()
