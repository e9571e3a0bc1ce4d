"""The segment store: ``<store>/<key>.wav`` plus a ``<key>.json`` sidecar, written atomically.

Every stage output (synthesis, effects, voice conversion) is a segment here, named by its own
chained key, with the same guarantees.

One key, one content: :func:`put_segment` is the only way audio enters the store and
:func:`get_segment` the only way a stage reads it back. ``put_segment`` returns the audio
decoded from the very bytes it wrote, so a stage that runs right after its input was rendered
(same build, same process) sees exactly what a later build reading the store sees; no stage
is ever fed an engine's unquantized output (docs/architecture.md, "One key, one content").

A segment file exists only when complete. Concurrent builds sharing a store coordinate with a
per-segment lock file (``<store>/.locks/<key>.lock``, ``flock``), so the same segment is never
rendered twice at the same time. Temporary files are dot-prefixed and never match a final name.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ttsbuild.core.audio import Audio, decode_audio_bytes, encode_wav, read_audio
from ttsbuild.core.fsutil import write_bytes_atomic, write_text_atomic
from ttsbuild.core.request import RenderRequest
from ttsbuild.planning.key import KEY_PATTERN

AUDIO_SUFFIX = ".wav"
LOCK_DIR = ".locks"
_KEY = re.compile(KEY_PATTERN)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def valid_key(key: object) -> bool:
    """Whether ``key`` is a segment key (the only strings that become store file names)."""
    return isinstance(key, str) and bool(_KEY.fullmatch(key))  # "$" would allow a newline


def segment_path(store: Path, key: str) -> Path:
    return store / f"{key}{AUDIO_SUFFIX}"


def is_stored(store: Path | str, key: str) -> bool:
    """Whether the segment file is there: ``segment_path(store, key).exists()`` without
    building a Path (a build and its report ask this of every segment)."""
    try:
        os.stat(f"{store}{os.sep}{key}{AUDIO_SUFFIX}")
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def sidecar_path(store: Path, key: str) -> Path:
    return store / f"{key}.json"


def lock_path(store: Path, key: str) -> Path:
    return store / LOCK_DIR / f"{key}.lock"


@dataclass(frozen=True)
class Sidecar:
    """What the store keeps next to a segment: the request it was rendered from, and how."""

    key: str
    request: RenderRequest
    where: str
    speaker: str
    render_seconds: float
    samples: int
    sample_rate: int
    qa: Mapping[str, Any] | None = None  # the ASR verdict, when QA ran
    #: A post stage's output: {"kind", "input" (its input's key), ...the stage's form}; the
    #: request is then the synthesis request the chain started from.
    stage: Mapping[str, Any] | None = None
    sha256: str | None = None  # of the segment file's bytes; None in sidecars before issue 18
    environment: Mapping[str, Any] | None = None  # the runtime that rendered it (python, torch...)
    inference_batch: int | None = None  # rendered in one forward pass with this many segments
    uid: str = ""  # the identity of the line it was rendered for (sources/identity.py)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "request": self.request.to_dict(),
            "where": self.where,
            "speaker": self.speaker,
            "render_seconds": round(self.render_seconds, 4),
            "samples": self.samples,
            "sample_rate": self.sample_rate,
        }
        if self.qa is not None:
            data["qa"] = dict(self.qa)
        if self.stage is not None:
            data["stage"] = dict(self.stage)
        if self.sha256 is not None:
            data["sha256"] = self.sha256
        if self.environment is not None:
            data["environment"] = dict(self.environment)
        if self.inference_batch is not None:
            data["inference_batch"] = self.inference_batch
        if self.uid:
            data["uid"] = self.uid
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sidecar:
        """Raises ValueError for a key or hash that is not one (a sidecar names files)."""
        key = str(data["key"])
        if not _KEY.match(key):
            raise ValueError(f"not a segment key: {key[:80]!r}")
        digest = data.get("sha256")
        if digest is not None and not _SHA256.match(str(digest)):
            raise ValueError(f"not a sha256: {str(digest)[:80]!r}")
        return cls(
            key,
            RenderRequest.from_dict(data["request"]),
            str(data["where"]),
            str(data["speaker"]),
            float(data["render_seconds"]),
            int(data["samples"]),
            int(data["sample_rate"]),
            data.get("qa"),
            data.get("stage"),
            str(digest) if digest is not None else None,
            data.get("environment"),
            data.get("inference_batch"),
            str(data.get("uid") or ""),
        )


def write_sidecar(store: Path, sidecar: Sidecar) -> None:
    write_text_atomic(
        sidecar_path(store, sidecar.key), json.dumps(sidecar.to_dict(), indent=1, sort_keys=True)
    )


def stored_form(audio: Audio) -> tuple[bytes, Audio]:
    """The bytes the store keeps for ``audio`` and the value decoded from them: the one
    content any stage downstream of this key may see."""
    data = encode_wav(audio)
    return data, decode_audio_bytes(data)


def put_segment(store: Path, sidecar: Sidecar, audio: Audio) -> Audio:
    """Store ``audio`` as ``sidecar.key`` (the caller holds its :func:`segment_lock`): the
    sidecar first, with the length, rate and sha256 of the bytes, then the file, both
    atomically. Returns the stored content (:func:`stored_form`), never ``audio`` itself."""
    data, stored = stored_form(audio)
    sidecar = replace(
        sidecar,
        samples=stored.num_samples,
        sample_rate=stored.sample_rate,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    write_sidecar(store, sidecar)  # first: a segment file never exists without its hash
    write_bytes_atomic(segment_path(store, sidecar.key), data)
    return stored


def get_segment(store: Path, key: str) -> Audio:
    """A stored segment's content, as every stage reads its input (:func:`put_segment`)."""
    return read_audio(segment_path(store, key))


def read_sidecar(store: Path, key: str) -> Sidecar | None:
    """A segment's sidecar, or None when it is missing, unreadable or not a sidecar."""
    try:
        return Sidecar.from_dict(json.loads(sidecar_path(store, key).read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def stored_keys(store: Path) -> set[str]:
    """Keys of every finished segment file in the store."""
    return {p.stem for p in _listing(store, AUDIO_SUFFIX)}


def sidecar_keys(store: Path) -> set[str]:
    return {p.stem for p in _listing(store, ".json")}


def temp_files(store: Path) -> list[Path]:
    """Dot-prefixed temporary files left in the store (by a killed build, or in progress)."""
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if p.name.startswith(".") and p.is_file())


def temp_file_key(path: Path) -> str | None:
    """The segment key a temp file ``.<key>.wav.XXXX.tmp.wav`` belongs to, if any."""
    head = path.name[1:].split(".", 1)[0]
    return head if _KEY.match(head) else None


def _listing(store: Path, suffix: str) -> list[Path]:
    if not store.is_dir():
        return []
    return sorted(
        p for p in store.iterdir() if p.suffix == suffix and _KEY.match(p.stem) and p.is_file()
    )


def _open_locked(path: Path, blocking: bool) -> int | None:
    """Open and flock ``path``; retry if it was unlinked (by gc) while we waited for it.

    Checking that the locked inode is still the one at ``path`` is what makes removing a lock
    file safe for its holder: a waiter that locked the removed inode notices and starts over.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def segment_lock(store: Path, key: str, blocking: bool = True) -> Iterator[bool]:
    """An exclusive advisory lock on one segment (released if the process dies).

    Yields True when held; with ``blocking=False`` yields False at once if another process
    holds it. Every write of a stage output happens under this lock, so a ``key`` that is not
    a segment key (``../x``) is refused here too: nothing is written outside the store.
    """
    if not valid_key(key):
        raise ValueError(f"not a segment key: {str(key)[:80]!r}")
    fd = _open_locked(lock_path(store, key), blocking)
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)  # closing releases the flock


def remove_segment(store: Path, key: str, blocking: bool = True) -> bool:
    """Delete a segment, its sidecar, temp files and lock file, holding its lock.

    Returns False (and removes nothing) when not blocking and a build holds the lock.
    """
    path = lock_path(store, key)
    fd = _open_locked(path, blocking)
    if fd is None:
        return False
    try:
        for p in (segment_path(store, key), sidecar_path(store, key)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        for tmp in store.glob(f".{key}.*"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # safe: waiters re-check the inode (see _open_locked)
    finally:
        os.close(fd)
    return True


def failure_path(store: Path, key: str) -> Path:
    return store / ".failed" / f"{key}.txt"


def record_failure(store: Path, key: str, reason: str) -> None:
    """Remember why a segment failed (for the build report); cleared once it renders."""
    write_text_atomic(failure_path(store, key), reason)


def clear_failure(store: Path, key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        failure_path(store, key).unlink()


def read_failure(store: Path, key: str) -> str | None:
    try:
        return failure_path(store, key).read_text("utf-8")
    except OSError:
        return None
