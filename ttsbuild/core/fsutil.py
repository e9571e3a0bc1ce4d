"""Atomic file writes: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of finished files: what ``open()`` would give (mkstemp's are 0600, which would
#: make a shared store's segments unreadable to the rest of the team).
_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(
    dest: str | Path, suffix: str | None = None, durable: bool = True
) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success it is fsynced and renamed to ``dest``.

    On any exception the temporary file is removed and ``dest`` is left untouched, so a
    partially written file can never appear under a final name. ``durable=False`` skips the
    fsyncs (a cache whose reader checks what it reads: after a power loss such a file may be
    empty or short, never another file's content).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.",
        suffix=suffix if suffix is not None else ".tmp" + dest.suffix,
        dir=dest.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _FILE_MODE)
        yield tmp
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if durable:
        _fsync_dir(dest.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes_atomic(dest: str | Path, data: bytes, durable: bool = True) -> None:
    with atomic_path(dest, durable=durable) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(dest: str | Path, text: str) -> None:
    write_bytes_atomic(dest, text.encode("utf-8"))


def write_text_if_changed(dest: str | Path, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds exactly it. Returns True if written.

    Keeping the old file (and its mtime) when nothing changed is what lets a build tool see
    "nothing to do".
    """
    dest = Path(dest)
    data = text.encode("utf-8")
    try:
        if dest.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_bytes_atomic(dest, data)
    return True


#: A cache file (a prepared or mastered clip) ends with the BLAKE2b digest of its bytes: a file
#: altered on disk (a bit flip, a torn write) is prepared again, never copied into an episode.
SEAL_BYTES = 16


def seal(data: bytes) -> bytes:
    """``data`` followed by its digest (what :func:`unseal` checks)."""
    return data + hashlib.blake2b(data, digest_size=SEAL_BYTES).digest()


def unseal(sealed: bytes) -> bytes | None:
    """The data of a :func:`seal`-ed file, or None when its digest does not match."""
    data, digest = sealed[:-SEAL_BYTES], sealed[-SEAL_BYTES:]
    ok = (
        len(sealed) >= SEAL_BYTES
        and hashlib.blake2b(data, digest_size=SEAL_BYTES).digest() == digest
    )
    return data if ok else None


def blocking_file(folder: Path) -> Path | None:
    """What stops ``folder`` from being a folder: itself or the nearest of its parents that
    exists, when that is not a folder (a file, a FIFO, a device); None when it is a folder or
    can be made one.

    >>> blocking_file(Path("/dev/null/store")), blocking_file(Path("/tmp/no/such/store"))
    (PosixPath('/dev/null'), None)
    """
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None
