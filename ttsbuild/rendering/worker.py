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
from typing import IO, Any

from ttsbuild.config.settings import EngineOptions, QASettings, RuntimeSetting
from ttsbuild.core.errors import EngineError, RenderError
from ttsbuild.engines import get_engine
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
    number rendered; a failure is the same :class:`RenderError` an in-process render raises."""
    python = python_of(engine, setting)
    proc = subprocess.Popen(  # noqa: S603 - our own module in the configured runtime
        [str(python), "-m", "ttsbuild.rendering.worker", engine],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**subprocess_env(), PARENT_ENV: str(os.getpid())},
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        hello = _reply(proc.stdout)
        if not hello.get("ok"):
            raise EngineError(
                f"engine '{engine}': runtime {python} could not start a worker "
                f"({hello.get('error', 'it exited')}); {fix_command(engine, setting)}"
            )
        env = hello.get("environment", {})
        log.info("ttsbuild: %s renders in runtime %s (%s)", engine, python, _brief(env))
        proc.stdin.write(json.dumps(render_message(jobs, store, engine_options, qa)) + "\n")
        proc.stdin.flush()
        reply = _reply(proc.stdout)
        if not reply.get("ok"):
            raise RenderError(reply.get("error", f"engine '{engine}': its worker exited"))
        return int(reply["rendered"])
    finally:
        _stop(proc)


def _brief(env: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("executable", "prefix") and v)


def _reply(stream: IO[str]) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        return {"ok": False, "error": "the worker exited; its error is in the log above"}
    return dict(json.loads(line))


def _stop(proc: subprocess.Popen[str]) -> None:
    """End the worker: close its stdin (it exits), else terminate, else kill."""
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=30)
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
    for raw in sys.stdin:
        message = json.loads(raw)
        if message.get("op") != "render":
            reply = {"ok": False, "error": f"unknown op {message.get('op')!r}"}
        else:
            reply = run_render(message, environment=env)
        protocol.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: leave quietly
        sys.exit(130)
