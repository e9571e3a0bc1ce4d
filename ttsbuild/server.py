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
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .engines import EngineOptions
from .errors import RenderError, TTSBuildError
from .plan import request_from_dict, request_to_dict
from .qa import QASettings

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


def socket_path(project_root: Path) -> Path:
    """A short socket path (Unix sockets allow ~100 bytes) unique to the project and user."""
    digest = hashlib.sha256(str(project_root.resolve()).encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    return base / f"ttsbuild-{os.getuid()}-{digest}.sock"


def _jobs_payload(jobs: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"key": j.key, "request": request_to_dict(j.request), "where": j.where, "speaker": j.speaker}
        for j in jobs
    ]


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        for raw in self.rfile:
            self.server.touch()
            try:
                message = json.loads(raw)
                reply = self.server.dispatch(message)
            except Exception as exc:  # noqa: BLE001 - a bad request must not kill the server
                reply = {"ok": False, "error": f"render server: {exc}"}
            self.wfile.write((json.dumps(reply) + "\n").encode())
            self.wfile.flush()
            if message.get("op") == "stop":
                threading.Thread(target=self.server.shutdown, daemon=True).start()
                return


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, idle_seconds: float):
        self.path = path
        self.idle_seconds = idle_seconds
        self.last_used = time.monotonic()
        self.render_lock = threading.Lock()
        self.identity = identity()
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
            from .render import RenderJob, render_jobs

            jobs = [
                RenderJob(j["key"], request_from_dict(j["request"]), j["where"], j["speaker"])
                for j in message["jobs"]
            ]
            options = {
                name: EngineOptions(**opts) for name, opts in message.get("engines", {}).items()
            }
            qa = QASettings(**message["qa"]) if message.get("qa") else None
            with self.render_lock:  # one render at a time: one model, deterministic order
                try:
                    n = render_jobs(jobs, Path(message["store"]), options, qa)
                except TTSBuildError as exc:
                    return {"ok": False, "error": str(exc)}
                finally:
                    self.touch()
            return {"ok": True, "rendered": n}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def watch_idle(self) -> None:
        while True:
            time.sleep(min(1.0, self.idle_seconds / 4))
            if not self.render_lock.locked() and time.monotonic() - self.last_used > self.idle_seconds:
                log.info("ttsbuild: render server idle for %.0f s, stopping", self.idle_seconds)
                self.shutdown()
                return


@contextlib.contextmanager
def _start_lock(path: Path):  # type: ignore[no-untyped-def]
    fd = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _request(path: Path, message: Mapping[str, Any], timeout: float | None) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall((json.dumps(message) + "\n").encode())
        with sock.makefile("rb") as f:
            line = f.readline()
    if not line:
        raise ConnectionError("render server closed the connection")
    return json.loads(line)


def probe(path: Path) -> dict[str, Any] | None:
    """The running server's hello, or None; removes a stale socket left by a dead server."""
    if not path.exists():
        return None
    try:
        return _request(path, {"op": "hello"}, timeout=5)
    except (ConnectionRefusedError, FileNotFoundError, ConnectionError, socket.timeout, ValueError):
        with _start_lock(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        log.info("ttsbuild: removed stale render server socket %s", path)
        return None


def serve(project_root: Path, idle_seconds: float = 900.0) -> None:
    """Run a render server for a project in the foreground until idle or stopped."""
    path = socket_path(project_root)
    with _start_lock(path):
        hello = probe_quiet(path)
        if hello is not None:
            raise TTSBuildError(f"a render server is already running for this project (pid {hello['pid']})")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = _Server(path, idle_seconds)
    os.chmod(path, 0o600)
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
    cmd = [sys.executable, "-m", "ttsbuild.cli", "-C", str(project_root), "serve",
           "--idle", str(idle_seconds)]
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
    path = socket_path(project_root)
    hello = probe(path)
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
    message = {
        "qa": qa.to_dict() if qa is not None else None,
        "op": "render",
        "store": str(store.resolve()),
        "jobs": _jobs_payload(jobs),
        "engines": {
            name: {"device": o.device, "model": o.model, "checkpoint_dir": o.checkpoint_dir,
                   "batch_size": o.batch_size}
            for name, o in engine_options.items()
        },
    }
    reply = _request(path, message, timeout=None)
    if not reply.get("ok"):
        raise RenderError(reply.get("error", "render server failed"))
    return int(reply["rendered"])
