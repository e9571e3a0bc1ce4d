"""Content hashes of files (voice models and references), memoized by file status."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ttsbuild.core.fsutil import write_text_atomic

log = logging.getLogger(__name__)

_lock = threading.Lock()
_memory: dict[tuple[str, int, str], str] = {}


def _stat_key(path: Path) -> tuple[str, int, str]:
    """The file, its size, and a stamp that changes with any write: inode, device, mtime and
    ctime (a same-size edit with its old mtime put back, as ``tar`` or ``rsync -t`` restore
    a file, still changes the ctime)."""
    st = path.stat()
    stamp = f"{st.st_ino}:{st.st_dev}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    return (str(path.resolve()), st.st_size, stamp)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class HashCache:
    """Persistent path+size+stamp -> hash cache, so a 60 MB voice is hashed once, not per
    build (an entry written before the stamp held ctime and inode never matches: hashed again)."""

    def __init__(self, cache_file: Path | None):
        self.cache_file = cache_file
        self._data: dict[str, list[object]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list[object]]:
        if self._data is None:
            self._data = {}
            if self.cache_file is not None:
                try:
                    self._data = json.loads(self.cache_file.read_text("utf-8"))
                except (OSError, ValueError):
                    self._data = {}
        return self._data

    def get(self, path: Path, kind: str, compute: Callable[[Path], str]) -> str:
        key = _stat_key(path)
        mem_key = (f"{kind}:{key[0]}", key[1], key[2])
        with _lock:
            if mem_key in _memory:
                return _memory[mem_key]
            data = self._load()
            entry = data.get(mem_key[0])
            if entry is not None and entry[0] == key[1] and entry[1] == key[2]:
                _memory[mem_key] = str(entry[2])
                return str(entry[2])
        digest = compute(path)
        with _lock:
            _memory[mem_key] = digest
            self._load()[mem_key[0]] = [key[1], key[2], digest]
            self._dirty = True
        return digest

    def save(self) -> None:
        with _lock:
            if not self._dirty or self.cache_file is None or self._data is None:
                return
            try:
                write_text_atomic(self.cache_file, json.dumps(self._data, sort_keys=True))
                self._dirty = False
            except OSError as exc:  # a cache, never fatal
                log.debug("could not save hash cache %s: %s", self.cache_file, exc)


_default = HashCache(None)
_active: HashCache = _default


def use_cache(cache_file: Path | None) -> HashCache:
    """Select the persistent cache file for this process (one per project)."""
    global _active
    if cache_file is None:
        _active = _default
    elif _active.cache_file != cache_file:
        _active = HashCache(cache_file)
    return _active


def active_cache() -> HashCache:
    return _active


def content_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (memoized)."""
    return _active.get(Path(path), "bytes", file_sha256)


def audio_content_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of a reference's *decoded* audio: mono float32 at 24 kHz.

    Re-encoding a voice (WAV to FLAC) keeps its hash; changing its sound changes it.
    """

    def compute(p: Path) -> str:
        from ttsbuild.core.audio import read_audio

        audio = read_audio(p).resampled(24000)
        return hashlib.sha256(audio.samples.tobytes()).hexdigest()

    return _active.get(Path(path), "audio", compute)
