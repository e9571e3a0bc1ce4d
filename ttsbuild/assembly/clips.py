"""Prepared clips: stored segments resampled, trimmed and faded for the episode, cached on disk
with their length, true peak and loudness blocks, so placement and mastering need no audio.

Imports: core, config, planning.key, store, assembly.mastering.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ttsbuild.assembly.mastering import block_powers, true_peak
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio, decode_audio_bytes
from ttsbuild.core.errors import StoreError
from ttsbuild.core.fsutil import SEAL_BYTES, seal, unseal, write_bytes_atomic
from ttsbuild.planning.key import RENDER_PIPELINE_VERSION, canonical_json
from ttsbuild.store.segments import read_sidecar, segment_path

log = logging.getLogger(__name__)


#: Bump when clip preparation or its measurements change (invalidates the clip cache).
CLIP_CACHE_VERSION = 4


@dataclass(frozen=True)
class ClipInfo:
    """What placement and mastering need to know about a prepared clip."""

    samples: int
    true_peak: float
    blocks: npt.NDArray[np.float64]  # BS.1770 gating-block powers


class ClipCache:
    """Prepared clips on disk, keyed by segment key, the segment file itself and the settings
    that shape them.

    ``<key>-<file>.f32`` holds the samples (raw float32, sealed with their digest) and ``<key>-<file>.info`` the length,
    true peak, block count and loudness blocks (raw float64), so reading one back costs a
    single small read, no parsing. ``<file>`` identifies the segment file (device, inode, size,
    modification time): a segment rendered again (``verify --delete``, then a build) or altered
    in place gets new clips, never the ones prepared from its old content. A clip is prepared only from a
    segment whose bytes match the sha256 its sidecar recorded at render time.
    """

    def __init__(self, store: Path, cache_dir: Path | None, settings: OutputSettings):
        self.store = store
        self.settings = settings
        digest = hashlib.sha256(
            canonical_json(
                [
                    CLIP_CACHE_VERSION,
                    RENDER_PIPELINE_VERSION,
                    settings.sample_rate,
                    settings.trim_db,
                    settings.fade_ms,
                ]
            ).encode()
        ).hexdigest()[:12]
        self.dir = cache_dir / digest if cache_dir is not None else None
        self._info: dict[str, ClipInfo] = {}
        self._audio: dict[str, Audio] = {}  # only without a cache directory
        self._builders: dict[str, Callable[[], Audio]] = {}
        self._names: dict[str, str] = {}

    def name(self, key: str) -> str:
        """The clip's name in the cache: a derived clip's own name, or for a segment its key
        and the identity of its file (derived clip names must be built from these)."""
        if key in self._builders:
            return key
        name = self._names.get(key)
        if name is None:
            path = segment_path(self.store, key)
            try:
                st = path.stat()
            except FileNotFoundError:
                raise StoreError(
                    f"{path}: stored segment is missing (removed during the build?); "
                    "build again to render it"
                ) from None
            ident = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
            name = f"{key}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"
            self._names[key] = name
        return name

    def _segment_audio(self, key: str) -> Audio:
        """A stored segment's audio, checked against its sidecar (content hash, length)."""
        path = segment_path(self.store, key)
        fix = "run 'ttsbuild verify --delete' and build again"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(
                f"{path}: stored segment is missing (removed during the build?); "
                "build again to render it"
            ) from None
        except OSError as exc:
            raise StoreError(f"{path}: stored segment cannot be read ({exc.strerror})") from None
        side = read_sidecar(self.store, key)
        if side is not None and side.sha256 and hashlib.sha256(raw).hexdigest() != side.sha256:
            raise StoreError(
                f"{path}: stored segment is corrupt (its bytes differ from the sha256 recorded "
                f"when it was rendered); {fix}"
            )
        try:
            audio = decode_audio_bytes(raw)
        except Exception as exc:
            raise StoreError(
                f"{path}: stored segment cannot be decoded ({str(exc)[:200]}); {fix}"
            ) from None
        if side is not None and side.samples != audio.num_samples:
            raise StoreError(
                f"{path}: stored segment is corrupt ({audio.num_samples} samples, rendered with "
                f"{side.samples}); {fix}"
            )
        return audio

    def derive(self, name: str, build: Callable[[], Audio]) -> str:
        """Register a clip made from other clips (a subtitle cue stretched to its slot);
        ``name`` must change whenever what ``build`` returns would. Cached like segments, so
        a long subtitle episode never holds its clips in memory."""
        self._builders[name] = build
        return name

    def prepare_early(self, key: str) -> None:
        """Prepare a just-stored segment's clip under a name of its content (the sha256 its
        sidecar recorded): Snakemake touches a job's outputs when the job ends, which changes
        the file identity in :meth:`name`. Assembly adopts the clip (:meth:`_adopt`) once it
        has checked that the file still holds those bytes."""
        side = read_sidecar(self.store, key)
        if self.dir is not None and side is not None and side.sha256:
            self._prepare(key, self._early_name(key, side.sha256))

    @staticmethod
    def _early_name(key: str, sha256: str) -> str:
        return f"{key}-c{sha256[:16]}"

    def _adopt(self, key: str) -> bool:
        """Take over a clip :meth:`prepare_early` made, if the segment's bytes are the ones it
        was prepared from; renamed to the clip's name, so it is adopted once."""
        if self.dir is None or key in self._builders:
            return False
        side = read_sidecar(self.store, key)
        if side is None or not side.sha256:
            return False
        early = self.dir / self._early_name(key, side.sha256)
        if not early.with_suffix(".info").exists():
            return False
        try:
            raw = segment_path(self.store, key).read_bytes()
        except OSError:
            return False
        if hashlib.sha256(raw).hexdigest() != side.sha256:
            return False  # altered since: prepared again (and reported) from what is there
        name = self.name(key)
        try:
            os.replace(early.with_suffix(".f32"), self.dir / f"{name}.f32")
            os.replace(early.with_suffix(".info"), self.dir / f"{name}.info")
        except OSError:
            return False
        return True

    def _prepare(self, key: str, name: str | None = None) -> tuple[Audio, ClipInfo]:
        build = self._builders.get(key)
        if build is not None:
            audio = build()
        else:
            audio = self._segment_audio(key)
            s = self.settings
            audio = audio.resampled(s.sample_rate).trimmed(s.trim_db).faded(s.fade_ms)
        info = ClipInfo(audio.num_samples, true_peak(audio), block_powers(audio))
        if self.dir is None:
            self._audio[key] = audio
        else:
            # A cache: atomic but not fsynced (an fsync per file was most of a cold assembly
            # of a long subtitle episode); readers check the sizes of what they read.
            name = name or self.name(key)
            write_bytes_atomic(
                self.dir / f"{name}.f32", seal(audio.samples.tobytes()), durable=False
            )
            meta = np.concatenate(
                [[info.samples, info.true_peak, info.blocks.size], info.blocks]
            ).astype(np.float64)
            write_bytes_atomic(self.dir / f"{name}.info", meta.tobytes(), durable=False)
        return audio, info

    def info(self, key: str) -> ClipInfo:
        info = self._info.get(key)
        if info is None:
            info = self._cached_info(key)
            if info is None and self._adopt(key):
                info = self._cached_info(key)
            if info is None:
                info = self._prepare(key)[1]
            self._info[key] = info
        return info

    def _cached_info(self, key: str) -> ClipInfo | None:
        if self.dir is None:
            return None
        try:
            raw = np.fromfile(self.dir / f"{self.name(key)}.info", dtype=np.float64)
        except OSError:
            return None
        if (
            raw.size >= 3
            and raw.size == 3 + int(raw[2])
            and self._samples_on_disk(key) == int(raw[0])
        ):
            return ClipInfo(int(raw[0]), float(raw[1]), raw[3:])
        return None

    def _samples_on_disk(self, key: str) -> int:
        assert self.dir is not None
        try:
            return ((self.dir / f"{self.name(key)}.f32").stat().st_size - SEAL_BYTES) // 4
        except OSError:
            return -1

    def audio(self, key: str) -> Audio:
        if self.dir is None:
            if key not in self._audio:
                self._prepare(key)
            return self._audio[key]
        try:  # sealed: a clip altered on disk is prepared again, never used
            data = unseal((self.dir / f"{self.name(key)}.f32").read_bytes())
        except OSError:
            data = None
        samples = np.frombuffer(data, dtype=np.float32) if data is not None else None
        if samples is None or samples.size != self.info(key).samples:
            return self._prepare(key)[0]
        return Audio(samples.copy(), self.settings.sample_rate)


@dataclass(frozen=True)
class PrepareClip:
    """Prepare a segment's clip as soon as it is stored, so assembly finds it ready: render
    workers call it (``hook(key, store)``) right after each segment, overlapping clip
    preparation with the rest of the rendering. Assembly runs the same :class:`ClipCache`
    code on the same file, so the episode's bytes do not change; a clip that cannot be
    prepared here is left to assembly (which reports it)."""

    settings: OutputSettings
    cache_dir: Path

    def __call__(self, key: str, store: Path) -> None:
        try:
            ClipCache(store, self.cache_dir, self.settings).prepare_early(key)
        except Exception as exc:  # noqa: BLE001 - assembly prepares it again and says why
            log.debug("clip %s not prepared early: %s", key, exc)


@dataclass(frozen=True)
class Piece:
    """One clip placed on the episode timeline; ``load`` gives its audio when it is written.

    ``name`` identifies the clip (a segment's clip-cache name, or a derived clip's name): the
    writer caches the clip as mastered under it. It includes the identity of the segment
    files (so new bytes under a key get a new cached clip); ``content`` names the clip by
    segment keys alone, the same whatever the build's history, for what a build publishes
    (a stem's digest). Empty: ``name`` is already that.

    ``owners`` splits a clip spoken by several characters (a subtitle cue with two speakers)
    into their parts, ``(from, to, owner)`` in the clip's samples, for the stems; ``span`` is
    the part one piece of it places (:meth:`parts`)."""

    start: int
    name: str
    info: ClipInfo
    load: Callable[[], Audio]
    owner: str = ""  # whose stem the clip is on: a character, or "" (a break's sound)
    content: str = ""
    owners: tuple[tuple[int, int, str], ...] = ()
    span: tuple[int, int] | None = None

    @property
    def identity(self) -> str:
        """The clip's name by content alone (see ``content``)."""
        return self.content or self.name

    def parts(self) -> list[Piece]:
        """The piece as the stems hold it: itself, or one piece per owner's part. The parts
        partition the clip, so the stems still sum to the episode sample for sample."""
        if not self.owners:
            return [self]
        return [
            replace(self, start=self.start + a, owner=who, owners=(), span=(a, b))
            for a, b, who in self.owners
            if b > a
        ]


@dataclass(frozen=True)
class Layout:
    """An episode placed on its timeline: what the writer streams and what the reports say."""

    total: int  # samples
    pieces: list[Piece]
    cues: list[tuple[int, int, str]]  # (start, end, text) of each subtitle cue written
    report: dict[str, Any]  # the source-specific part of the timing report
    summary: str  # for the log line
    details: str = ""  # extra log lines (the cue timing table)
