"""A warm render server: keeps models loaded between builds of one project.

A build renders through the server when one is running for the project and speaks the same
version (``ttsbuild serve`` starts one; ``TTSBUILD_SERVER=auto`` starts one on demand). The
server renders with the same code as a build, so the bytes are identical; it stops after an
idle timeout. A stale socket (a server that died) is detected and removed; a server of another
version or code is asked to stop and not used.

Protocol: one JSON object per line over a Unix socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ttsbuild import __version__
from ttsbuild.config.settings import EngineOptions, QASettings
from ttsbuild.core.errors import RenderError, TTSBuildError
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.guard import (
    Budget,
    RequestError,
    RequestTooLong,
    ServerBusy,
    parse_render,
    peer_uid,
    printable,
    read_request_line,
    skip_line,
    socket_path,
)

__all__ = ["ServerBusy", "connect", "render_remote", "serve", "stop"]

log = logging.getLogger(__name__)

MODES = ("off", "use", "on", "auto")


def identity() -> str:
    """What a server must match: ttsbuild's version, its code, and the engine plugins."""
    h = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(os.environ.get("TTSBUILD_ENGINE_PLUGINS", "").encode())
    return h.hexdigest()[:16]


def render_message(
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
) -> dict[str, Any]:
    """A render request, as the render server and runtime workers receive it."""
    return {
        "op": "render",
        "qa": qa.to_dict() if qa is not None else None,
        "store": str(store.resolve()),
        "jobs": [j.to_dict() for j in jobs],
        "engines": {name: o.to_dict() for name, o in engine_options.items()},
    }


def run_render(
    message: Mapping[str, Any],
    environment: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Render a :func:`render_message` here; the reply says how many rendered or what failed."""
    from ttsbuild.rendering.render import render_jobs

    jobs = [RenderJob.from_dict(j) for j in message["jobs"]]
    options = {
        name: EngineOptions.from_dict(opts) for name, opts in message.get("engines", {}).items()
    }
    qa = QASettings.from_dict(message["qa"]) if message.get("qa") else None
    try:
        n = render_jobs(jobs, Path(message["store"]), options, qa, environment, progress)
    except TTSBuildError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "rendered": n}


#: How long a client retries a connect refused for a full backlog before giving up.
CONNECT_PATIENCE_SECONDS = 5.0


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        try:
            uid = peer_uid(self.connection)
        except OSError:
            uid = -1
        if uid != os.getuid():
            log.warning("ttsbuild: render server refused a connection from uid %s", uid)
            return  # another user (or unknown): closed without a word
        while True:
            try:
                raw = read_request_line(self.rfile, self.server.budget)
            except RequestTooLong:
                self._answer({"ok": False, "error": "render server: request too long"})
                if not skip_line(self.rfile):
                    return
                continue
            except ServerBusy as exc:
                self._answer({"ok": False, "busy": True, "error": f"render server: {exc}"})
                return  # the rest of the line is never read: the connection closes
            if raw is None:
                return
            self.server.touch()
            op = None
            try:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    raise RequestError("a request is a JSON object with an 'op'")
                op = message.get("op")
                reply = self.server.dispatch(message)
            except Exception as exc:  # noqa: BLE001 - a bad request must not kill anything
                reply = {"ok": False, "error": f"render server: {printable(exc, 500)}"}
            del raw
            self._answer(reply)
            if op == "stop":
                threading.Thread(target=self.server.shutdown, daemon=True).start()
                return

    def _answer(self, reply: Mapping[str, Any]) -> None:
        self.wfile.write((json.dumps(reply) + "\n").encode())
        self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    #: The listen backlog: every render job of a ``-j 128`` build may connect at once.
    request_queue_size = 256

    def __init__(self, path: Path, idle_seconds: float, roots: Sequence[Path]):
        self.path = path
        self.roots = tuple(roots)  # what requests may name: the project (and its store)
        self.idle_seconds = idle_seconds
        self.last_used = time.monotonic()
        self.render_lock = threading.Lock()
        self.identity = identity()
        self.budget = Budget()  # unfinished request lines, all connections together
        super().__init__(str(path), _Handler)

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def dispatch(self, message: Mapping[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "hello":
            return {"ok": True, "identity": self.identity, "pid": os.getpid()}
        if op == "stop":
            return {"ok": True}
        if op == "render":
            from ttsbuild.rendering.render import render_jobs

            request = parse_render(message, self.roots)
            options = {
                name: EngineOptions.from_dict(opts) for name, opts in request["engines"].items()
            }
            qa = QASettings.from_dict(request["qa"]) if request["qa"] else None
            with self.render_lock:  # one render at a time: one model, deterministic order
                try:
                    n = render_jobs(request["jobs"], request["store"], options, qa)
                except TTSBuildError as exc:
                    return {"ok": False, "error": str(exc)}
                finally:
                    self.touch()
            return {"ok": True, "rendered": n}
        return {"ok": False, "error": f"unknown op {printable(op, 80)!r}"}

    def watch_idle(self) -> None:
        while True:
            time.sleep(min(1.0, self.idle_seconds / 4))
            if (
                not self.render_lock.locked()
                and time.monotonic() - self.last_used > self.idle_seconds
            ):
                log.info("ttsbuild: render server idle for %.0f s, stopping", self.idle_seconds)
                self.shutdown()
                return


@contextlib.contextmanager
def _start_lock(path: Path) -> Iterator[None]:
    fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _connect(path: Path, timeout: float | None) -> socket.socket:
    """A connection to the server; a connect refused because its backlog is full (``EAGAIN``)
    is retried with back-off for :data:`CONNECT_PATIENCE_SECONDS`, then :class:`ServerBusy`."""
    delay = 0.02
    deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout if timeout is not None else 60.0)
        try:
            sock.connect(str(path))
        except BlockingIOError:
            sock.close()
            if time.monotonic() + delay > deadline:
                raise ServerBusy(
                    f"its backlog stayed full for {CONNECT_PATIENCE_SECONDS:.0f} s"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
            continue
        except BaseException:
            sock.close()
            raise
        sock.settimeout(timeout)
        return sock


def _request(path: Path, message: Mapping[str, Any], timeout: float | None) -> dict[str, Any]:
    with _connect(path, timeout) as sock:
        if peer_uid(sock) != os.getuid():  # never send a script to another user's process
            raise ConnectionError(f"{path}: the render server runs as another user")
        try:
            sock.sendall((json.dumps(message) + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # a busy server answers before it closes: read that answer
        with sock.makefile("rb") as f:
            line = f.readline()
    if not line:
        raise ConnectionError("render server closed the connection")
    reply = json.loads(line)
    if not isinstance(reply, dict):
        raise ValueError("render server: not a reply")
    if reply.get("busy"):
        raise ServerBusy(printable(reply.get("error", "busy")))
    return reply


def probe(path: Path) -> dict[str, Any] | None:
    """The running server's hello, or None; removes a stale socket left by a dead server."""
    if not path.exists():
        return None
    try:
        return _request(path, {"op": "hello"}, timeout=5)
    except (TimeoutError, ConnectionRefusedError, FileNotFoundError, ConnectionError, ValueError):
        with _start_lock(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        log.info("ttsbuild: removed stale render server socket %s", path)
        return None


def serve(project_root: Path, idle_seconds: float = 900.0, allowed: Sequence[Path] = ()) -> None:
    """Run a render server for a project in the foreground until idle or stopped.

    Requests may name paths only inside ``project_root`` and ``allowed`` (the project's store
    and ``allow_outside`` folders)."""
    path = socket_path(project_root)
    roots = [project_root.resolve(), *(Path(p).resolve() for p in allowed)]
    with _start_lock(path):
        hello = probe_quiet(path)
        if hello is not None:
            raise TTSBuildError(
                f"a render server is already running for this project (pid {hello['pid']})"
            )
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = _Server(path, idle_seconds, roots)  # bound inside the private directory
    log.info("ttsbuild: render server for %s listening on %s", project_root, path)
    threading.Thread(target=server.watch_idle, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def probe_quiet(path: Path) -> dict[str, Any] | None:
    try:
        return _request(path, {"op": "hello"}, timeout=5) if path.exists() else None
    except (OSError, ConnectionError, ValueError):
        return None


def stop(project_root: Path) -> bool:
    path = socket_path(project_root)
    if probe(path) is None:
        return False
    with contextlib.suppress(OSError, ConnectionError, ValueError):
        _request(path, {"op": "stop"}, timeout=10)
    return True


def _spawn(project_root: Path, idle_seconds: float) -> None:
    cmd = [
        sys.executable,
        "-m",
        "ttsbuild.cli",
        "-C",
        str(project_root),
        "serve",
        "--idle",
        str(idle_seconds),
    ]
    subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def connect(project_root: Path, mode: str, idle_seconds: float = 900.0) -> Path | None:
    """The socket of a compatible server to render through, or None to render locally."""
    if mode == "off":
        return None
    try:
        path = socket_path(project_root)
    except RenderError as exc:  # a planted directory: never use it; render here unless required
        if mode == "on":
            raise
        log.warning("ttsbuild: not using a render server: %s", exc)
        return None
    try:
        hello = probe(path)
    except ServerBusy as exc:
        if mode == "on":
            raise
        log.warning("ttsbuild: render server is busy (%s); rendering here instead", exc)
        return None
    mine = identity()
    if hello is not None and hello.get("identity") != mine:
        log.warning(
            "ttsbuild: render server (pid %s) runs other code or version; stopping it",
            hello.get("pid"),
        )
        with contextlib.suppress(OSError, ConnectionError, ValueError):
            _request(path, {"op": "stop"}, timeout=10)
        hello = None
    if hello is None and mode == "auto":
        with _start_lock(Path(f"{path}.spawn")):
            if probe_quiet(path) is None:
                _spawn(project_root, idle_seconds)
        deadline = time.monotonic() + 30
        while hello is None and time.monotonic() < deadline:
            time.sleep(0.1)
            hello = probe_quiet(path)
    if hello is None:
        if mode == "on":
            raise RenderError(
                "TTSBUILD_SERVER=on but no render server runs for this project; start one "
                "with 'ttsbuild serve'"
            )
        return None
    return path


def render_remote(
    path: Path,
    jobs: Sequence[Any],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
) -> int:
    message = render_message(jobs, store, engine_options, qa)
    reply = _request(path, message, timeout=None)
    if not reply.get("ok"):
        raise RenderError(printable(reply.get("error", "render server failed")))
    return int(reply["rendered"])
