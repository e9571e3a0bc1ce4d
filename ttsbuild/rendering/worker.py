"""Runtime workers: a render job of an engine with its own runtime renders through a worker,
``<runtime python> -m ttsbuild.rendering.worker``, running this same ttsbuild source tree.

Protocol: JSON lines, the render server's messages (:func:`~ttsbuild.rendering.server.render_message`)
over the worker's stdin and stdout. The worker first sends ``{"ok": true, "environment": ...}``
(python, torch, numpy and the engine's package versions), then answers each render request with
the render server's reply; it renders through the same code as a build (one model load per
process, the store's atomic writes and locks) and puts its environment in every sidecar.

A worker never outlives its job: it asks the kernel for SIGKILL when the process that started
it dies (``PR_SET_PDEATHSIG``, Linux), watches its parent's pid elsewhere, and ends at the end of
its stdin. Anything an engine prints goes to stderr, so it cannot corrupt the protocol.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import EngineOptions, QASettings, RuntimeSetting
from ttsbuild.core.errors import EngineError, RenderError
from ttsbuild.engines import get_engine
from ttsbuild.engines.protocol import MessageReader, Peer, exit_status
from ttsbuild.engines.runtimes import (
    environment,
    fix_command,
    python_of,
    subprocess_env,
)
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.server import render_message, run_render

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PARENT_ENV = "TTSBUILD_WORKER_PARENT"  # the pid that started the worker


def render_in_runtime(
    engine: str,
    setting: RuntimeSetting,
    jobs: Sequence[RenderJob],
    store: Path,
    engine_options: Mapping[str, EngineOptions],
    qa: QASettings | None = None,
) -> int:
    """Render ``jobs`` (all of ``engine``) through a worker in the engine's runtime. Returns the
    number rendered; a failure is the same :class:`RenderError` an in-process render raises.
    A worker that does not say hello within ``runtime.timeouts.hello`` s, or goes
    ``runtime.timeouts.render`` s without finishing a segment, is stopped: one error line."""
    python = python_of(engine, setting)
    peer = Peer(engine, str(python), fix_command(engine, setting))
    proc = subprocess.Popen(  # noqa: S603 - our own module in the configured runtime
        [str(python), "-m", "ttsbuild.rendering.worker", engine],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**subprocess_env(), PARENT_ENV: str(os.getpid())},
    )
    assert proc.stdin is not None and proc.stdout is not None
    reader = MessageReader(proc.stdout, peer)
    healthy = False
    try:
        hello = reader.message("hello", setting.hello_timeout, "hello", {"ok": bool})
        if hello is None or not hello["ok"]:
            why = hello.get("error") if hello is not None else _ended(proc)
            raise EngineError(
                f"engine '{engine}': runtime {python} could not start a worker "
                f"({why}); {fix_command(engine, setting)}"
            )
        env = hello.get("environment") or {}
        log.info("ttsbuild: %s renders in runtime %s (%s)", engine, python, _brief(env))
        message = json.dumps(render_message(jobs, store, engine_options, qa)) + "\n"
        try:
            proc.stdin.write(message.encode())
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died: the reader sees the end of its output
        n = _rendered(reader, proc, setting, len(jobs))
        healthy = True
        return n
    finally:
        _stop(proc, patience=30 if healthy else 0)


def _rendered(
    reader: MessageReader, proc: subprocess.Popen[bytes], setting: RuntimeSetting, total: int
) -> int:
    """Wait for the worker's reply, through its progress messages (one per segment)."""
    peer = reader.peer
    while True:
        reply = reader.message("reply (or progress)", setting.render_timeout, "render", {})
        if reply is None:
            raise RenderError(
                f"engine '{peer.engine}': runtime {peer.runtime}: its worker ended while "
                f"rendering ({_ended(proc)}); the segments it finished are kept, rerun to "
                "continue (its own output, if it printed any, is in this job's log)"
            )
        if "progress" in reply:
            continue
        if not isinstance(reply.get("ok"), bool):
            raise peer.error(f"sent a malformed reply (no 'ok' field: {str(reply)[:80]!r})")
        if not reply["ok"]:
            raise RenderError(str(reply.get("error") or f"engine '{peer.engine}' failed"))
        rendered = reply.get("rendered")
        if not isinstance(rendered, int) or isinstance(rendered, bool) or rendered > total:
            raise peer.error(f"sent a malformed reply ('rendered' is {str(rendered)[:40]!r})")
        return rendered


def _brief(env: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("executable", "prefix") and v)


def _ended(proc: subprocess.Popen[bytes]) -> str:
    """How the worker ended, once it closed its output."""
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return "it closed its output but did not exit"
    return exit_status(proc.returncode)


def _stop(proc: subprocess.Popen[bytes], patience: float) -> None:
    """End the worker: close its stdin (it exits within ``patience`` s), else terminate, else
    kill. A worker that failed (hung, babbled, died) gets no patience."""
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _die_with_parent() -> None:
    """SIGKILL this worker when its parent dies (Linux), and a watchdog thread elsewhere."""
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main(argv: Sequence[str]) -> int:
    _die_with_parent()
    # Ctrl-C (the build's process group) ends a worker, even when it was started with SIGINT
    # ignored (a background job of a non-interactive shell inherits that).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # an engine's prints go to the log, never into the protocol
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        spec = get_engine(argv[0]).info.runtime if argv else None
        env = environment(spec.package if spec is not None else "")
    except EngineError as exc:
        protocol.write(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        return 1
    protocol.write(json.dumps({"ok": True, "environment": env, "pid": os.getpid()}) + "\n")

    def progress(done: int) -> None:
        protocol.write(json.dumps({"progress": done}) + "\n")

    for raw in sys.stdin:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict) or message.get("op") != "render":
                raise ValueError("not a render request")
            reply = run_render(message, environment=env, progress=progress)
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "error": f"worker: malformed request ({str(exc)[:200]})"}
        protocol.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: leave quietly
        sys.exit(130)
