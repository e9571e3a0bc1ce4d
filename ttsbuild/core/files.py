"""Opening the user's input files: regular files only, with a size limit.

A script, subtitle file or voice named in the config could be a FIFO (opening it blocks until
a writer comes), a device such as ``/dev/zero`` (reading it never ends) or simply enormous.
Every such file is opened here, without blocking, checked with ``fstat`` on the open
descriptor (no race with a swapped path) and read no further than the limit.

Imports: nothing of ttsbuild but :mod:`ttsbuild.core.errors`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: The largest script or subtitle file read (a 100,000-cue SRT is about 5 MB).
MAX_SOURCE_BYTES = 64 * 1024 * 1024
#: The largest voice reference accepted (minutes of studio audio are well below this).
MAX_VOICE_BYTES = 512 * 1024 * 1024
#: The largest bed (a programme's video can be long; the decoded audio is what costs memory).
MAX_BED_BYTES = 64 * 1024 * 1024 * 1024


class NotRegularFileError(OSError):
    """The path is not a regular file, or it is larger than the limit."""


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def check_regular(path: str | Path, limit: int) -> int:
    """The size of a regular file no larger than ``limit``; otherwise NotRegularFileError
    (FileNotFoundError and other OSErrors pass through). Never blocks on a FIFO."""
    st = os.stat(path)
    return _check_stat(st, limit)


def _check_stat(st: os.stat_result, limit: int) -> int:
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(st.st_mode)
            else "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise NotRegularFileError(f"it is {kind}, not a regular file")
    if st.st_size > limit:
        raise NotRegularFileError(f"it is {_mib(st.st_size)}, larger than the {_mib(limit)} limit")
    return st.st_size


def read_regular(path: str | Path, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Opened with O_NONBLOCK so a FIFO cannot block, then checked on the descriptor.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_stat(os.fstat(fd), limit)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while we read it
                raise NotRegularFileError(f"it is larger than the {_mib(limit)} limit")
        return b"".join(chunks)
    finally:
        os.close(fd)
