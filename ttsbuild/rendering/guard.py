"""The render server's guards: a private socket directory, peer credentials, validated
requests, and escaped error text (issue 18: a render server that trusts nobody).

Imports: core, config, planning, store, rendering.batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import stat
import struct
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ttsbuild.core.errors import EngineError, RenderError
from ttsbuild.rendering.batch import RenderJob

#: The longest request line the server reads (a batch of thousands of jobs fits easily).
MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: How much of a server's error text a client prints.
MAX_ERROR_CHARS = 2000


def _private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter: created 0700 if missing, and refused
    if it is a symlink, another user's, or open to others (someone may have planted it)."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)  # mkdir applies the umask, which can only remove bits
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise RenderError(
            f"{path}: the render server's directory is not a private directory of this user "
            "(a symlink, another user's, or open to others); remove it or set XDG_RUNTIME_DIR"
        )
    return path


def socket_dir() -> Path:
    """The per-user directory of render server sockets: ``$XDG_RUNTIME_DIR/ttsbuild`` (that
    directory is private by specification), else ``<tmp>/ttsbuild-<uid>``, made 0700 before
    any socket is bound in it."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return _private_dir(Path(runtime) / "ttsbuild")
    return _private_dir(Path(tempfile.gettempdir()) / f"ttsbuild-{os.getuid()}")


def socket_path(project_root: Path) -> Path:
    """A short socket path (Unix sockets allow ~100 bytes) unique to the project, in the
    user's private socket directory."""
    digest = hashlib.sha256(str(project_root.resolve()).encode()).hexdigest()[:16]
    return socket_dir() / f"{digest}.sock"


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def printable(text: object, limit: int = MAX_ERROR_CHARS) -> str:
    """Text from another process made safe for a terminal: control characters (escape
    sequences) escaped, and cut to ``limit`` characters.

    >>> printable("bad\\x1b[2Jthing")
    'bad\\\\x1b[2Jthing'
    """
    out = "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in str(text)[: limit + 1]
    )
    return out if len(out) <= limit else out[:limit] + "..."


class ServerBusy(RenderError):
    """The render server cannot take a request now (its backlog or its memory budget is
    full); the build renders the batch itself instead."""


#: Total bytes of unfinished request lines the server holds across all its connections: a
#: connection whose next chunk would pass it is answered "busy" and closed.
MAX_BUFFERED_BYTES = 2 * MAX_REQUEST_BYTES
#: How much of a request line is read (and reserved against the budget) at a time.
_CHUNK = 1 << 16


class RequestTooLong(Exception):
    """A request line over :data:`MAX_REQUEST_BYTES`."""


class Budget:
    """Bytes of unfinished request lines held, all connections together."""

    def __init__(self) -> None:
        self.held = 0
        self._lock = threading.Lock()

    def reserve(self, n: int) -> None:
        """Hold ``n`` more bytes, or :class:`ServerBusy` past :data:`MAX_BUFFERED_BYTES`."""
        with self._lock:
            if self.held + n > MAX_BUFFERED_BYTES:
                raise ServerBusy(f"busy: {self.held} bytes of requests already in flight; retry")
            self.held += n

    def release(self, n: int) -> None:
        with self._lock:
            self.held -= n


def read_request_line(stream: io.BufferedIOBase, budget: Budget) -> bytes | None:
    """One request line (None at the end of the stream), read in chunks, each reserved
    against the server's budget for all connections."""
    parts: list[bytes] = []
    held = 0
    try:
        while True:
            chunk = stream.readline(_CHUNK)
            if not chunk:
                return None
            if held + len(chunk) > MAX_REQUEST_BYTES:
                raise RequestTooLong
            budget.reserve(len(chunk))
            held += len(chunk)
            parts.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(parts)
    finally:
        budget.release(held)


def skip_line(stream: io.BufferedIOBase) -> bool:
    """Skip the rest of an over-long line in bounded reads; False at the end of the stream."""
    while True:
        chunk = stream.readline(_CHUNK)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


class RequestError(ValueError):
    """A request the server refuses (malformed, or naming paths outside its project)."""


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _named_voices(engine: str) -> bool:
    """Whether ``engine``'s voices are names it resolves itself (Kokoro), not files."""
    from ttsbuild.engines import get_engine

    try:
        return get_engine(engine).info.named_voices
    except EngineError:  # an unknown engine: its voice is a path like any other
        return False


def parse_render(message: Mapping[str, Any], roots: Sequence[Path]) -> dict[str, Any]:
    """A render request, checked against its schema and the project the server serves:
    the store and every voice file must lie inside the project (or the folders its config
    allows); every key a job carries is a segment key (:meth:`RenderJob.from_dict`)."""
    store = message.get("store")
    jobs = message.get("jobs")
    engines = message.get("engines", {})
    qa = message.get("qa")
    if not isinstance(store, str) or not isinstance(jobs, list):
        raise RequestError("a render request needs 'store' (a string) and 'jobs' (a list)")
    store_path = Path(store).resolve()
    if not _inside(store_path, roots):
        raise RequestError(f"store {printable(store, 200)!r} is outside the served project")
    if not isinstance(engines, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
        for v in engines.values()
    ):
        raise RequestError("'engines' must map engine names to string options")
    for name, opts in engines.items():
        ckpt = opts.get("checkpoint_dir", "")
        if ckpt and not _inside(Path(ckpt).resolve(), roots):
            raise RequestError(
                f"engine {printable(name, 80)!r}: checkpoint_dir is outside the project"
            )
    if qa is not None and not isinstance(qa, dict):
        raise RequestError("'qa' must be an object or null")
    if qa is not None:
        model = str(qa.get("model", "base"))
        if model != "base" and not _inside(Path(model).resolve(), roots):
            raise RequestError("qa.model is outside the served project")
    parsed = []
    for data in jobs:
        if not isinstance(data, dict):
            raise RequestError("every job must be an object")
        try:
            job = RenderJob.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RequestError(f"malformed job ({printable(exc, 200)})") from None
        ref = job.request.voice.reference
        named = _named_voices(job.request.engine)
        if ref and ref != "bundled" and not named and not _inside(Path(ref).resolve(), roots):
            raise RequestError(f"{job.where}: voice file is outside the served project")
        parsed.append(job)
    return {"store": store_path, "jobs": parsed, "engines": engines, "qa": qa}
