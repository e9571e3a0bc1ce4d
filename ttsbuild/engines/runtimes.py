"""Engine runtimes: an engine rendering in its own Python environment (docs/engines.md, Runtimes).

A runtime is either an interpreter the user gives (``engines.<name>.runtime: {python: ...}``)
or one ttsbuild creates and owns (``{managed: true}``) from the engine's declared
:class:`~ttsbuild.engines.base.RuntimeSpec`, PyPI only, under :func:`runtimes_root`
(``$TTSBUILD_RUNTIMES``, else ``~/.cache/ttsbuild/runtimes``) in a folder named after the spec's
hash: reused by every project, and a changed spec is a new folder (``ttsbuild runtime create``).

The main process never imports an engine's packages: it asks the runtime for the engine's
version (part of every segment key) with ``python -m ttsbuild.engines.runtimes probe ENGINE``,
and renders through a worker (:mod:`ttsbuild.rendering.worker`). Both run ttsbuild from this
same source tree (:func:`subprocess_env`), so ttsbuild's own light dependencies must be in the
runtime too; a managed runtime installs them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from typing import Any

from ttsbuild.config.settings import RuntimeSetting
from ttsbuild.core.errors import EngineError
from ttsbuild.core.fsutil import write_text_atomic

from .base import RuntimeSpec

log = logging.getLogger(__name__)

MARKER = "ttsbuild-runtime.json"  # written last: a runtime without it is unfinished
#: ttsbuild's dependencies a worker does not need (it never plans or runs Snakemake).
NOT_IN_WORKER = ("snakemake",)
#: Used when ttsbuild's metadata is not installed (running from a bare source tree).
WORKER_FALLBACK = ("numpy>=1.24", "soundfile>=0.12", "soxr>=0.3", "pyloudnorm>=0.1.1",
                   "pedalboard>=0.9", "pysrt>=1.1", "charset-normalizer>=3.0", "pyyaml>=6.0",
                   "jsonschema>=4.0")  # fmt: skip


def runtimes_root() -> Path:
    """Where managed runtimes live: ``$TTSBUILD_RUNTIMES``, else the user's cache folder."""
    given = os.environ.get("TTSBUILD_RUNTIMES")
    if given:
        return Path(given).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ttsbuild" / "runtimes"


def worker_requirements() -> tuple[str, ...]:
    """ttsbuild's own required dependencies, less those only the main process needs."""
    try:
        reqs = requires("ttsbuild") or []
    except PackageNotFoundError:
        return WORKER_FALLBACK
    plain = [r for r in reqs if "extra ==" not in r]
    return tuple(
        r for r in plain if re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0] not in NOT_IN_WORKER
    )


def spec_of(engine: str) -> RuntimeSpec:
    from ttsbuild.engines import get_engine

    spec = get_engine(engine).info.runtime
    if spec is None:
        raise EngineError(
            f"engine '{engine}' declares no managed runtime; give its interpreter instead: "
            f"engines.{engine}.runtime: {{python: /path/to/bin/python}}"
        )
    return spec


def install_steps(spec: RuntimeSpec, variant: str) -> tuple[tuple[str, ...], ...]:
    """The pip steps of a managed runtime; ttsbuild's own dependencies join the last one."""
    steps = spec.steps(variant)
    return (*steps[:-1], (*steps[-1], *worker_requirements()))


def managed_dir(engine: str, variant: str) -> Path:
    """The folder of an engine's managed runtime: ``<spec name>-<variant>-<hash>``, the hash over
    the Python version and the install steps, so a changed requirement is a new runtime."""
    spec = spec_of(engine)
    form = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}",
            "steps": install_steps(spec, variant)}  # fmt: skip
    digest = hashlib.sha256(json.dumps(form, sort_keys=True).encode()).hexdigest()[:12]
    return runtimes_root() / f"{spec.name}-{variant}-{digest}"


def fix_command(engine: str, setting: RuntimeSetting) -> str:
    if setting.managed:
        variant = " --variant gpu" if setting.variant == "gpu" else ""
        return f"run: ttsbuild runtime create {engine}{variant}"
    return (
        f"install the engine into that interpreter's environment (docs/engines.md, Runtimes), "
        f"or set engines.{engine}.runtime: {{managed: true}} and run: "
        f"ttsbuild runtime create {engine}"
    )


def python_of(engine: str, setting: RuntimeSetting) -> Path:
    """The interpreter of an engine's runtime; a missing one is one line naming the fix."""
    if setting.managed:
        folder = managed_dir(engine, setting.variant)
        python = folder / "bin" / "python"
        if not (folder / MARKER).exists() or not python.exists():
            raise EngineError(
                f"engine '{engine}': managed runtime {folder} is not created; "
                f"{fix_command(engine, setting)}"
            )
        return python
    found = shutil.which(setting.python)
    if found is None:
        raise EngineError(
            f"engine '{engine}': runtime interpreter {setting.python} not found "
            f"(engines.{engine}.runtime.python); {fix_command(engine, setting)}"
        )
    return Path(found)


@functools.lru_cache(maxsize=1)
def _source_link() -> str:
    """A folder holding only a link to this ttsbuild package, for a runtime's PYTHONPATH (the
    package's own parent may be a site-packages full of the main environment's packages)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(str(package).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"ttsbuild-src-{os.getuid()}-{digest}"
    link = folder / "ttsbuild"
    if not link.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".ttsbuild.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(package)
        os.replace(tmp, link)
    return str(folder)


def subprocess_env() -> dict[str, str]:
    """The environment of a probe or worker: this ttsbuild first on its PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_source_link(), env.get("PYTHONPATH")]))
    env.pop("PYTHONHOME", None)
    return env


def environment(package: str = "") -> dict[str, str | None]:
    """What a runtime is: its interpreter and the versions that decide what it renders."""

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    env: dict[str, str | None] = {
        "python": ".".join(map(str, sys.version_info[:3])),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "torch": ver("torch"),
        "numpy": ver("numpy"),
    }
    if package:
        env[package] = ver(package)
    return env


def probe(engine: str, setting: RuntimeSetting, imports: bool = False) -> dict[str, Any]:
    """Ask the runtime for the engine's version and its environment (and, with ``imports``, import
    the engine's modules there). A broken, hung or babbling runtime is one line naming the
    engine, the runtime and the fix (:mod:`ttsbuild.engines.protocol`)."""
    from ttsbuild.engines.protocol import MessageReader, Peer, exit_status, parse_message

    python = python_of(engine, setting)
    peer = Peer(engine, str(python), fix_command(engine, setting))
    args = [str(python), "-m", "ttsbuild.engines.runtimes", "probe", engine]
    if imports:
        args.append("--imports")
    with tempfile.TemporaryFile() as err:  # on disk: a flood on stderr costs no memory
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                env=subprocess_env(),
            )  # fmt: skip
        except OSError as exc:
            raise peer.error(f"does not run ({exc})") from None
        assert proc.stdout is not None
        try:
            reader = MessageReader(proc.stdout, peer)
            raw = reader.line("probe answer", setting.probe_timeout, "probe")
            code = proc.wait(timeout=setting.probe_timeout)
        except subprocess.TimeoutExpired:
            raise peer.error("printed its answer but did not exit") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0:
            raise peer.error(f"is broken ({_last_line(err) or exit_status(code)})")
    if raw is None:
        raise peer.error("answered nothing to the version probe (exit status 0)")
    return parse_message(raw, peer, "probe answer", {"version": str, "environment": dict})


def _last_line(stream: Any, limit: int = 4096) -> str:
    """The last non-blank line of a (temporary) file's tail."""
    stream.seek(0, os.SEEK_END)
    stream.seek(max(0, stream.tell() - limit))
    lines = [ln for ln in stream.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else ""


@functools.cache
def engine_version(engine: str, setting: RuntimeSetting) -> str:
    """The engine's version as its runtime has it (goes into every segment key). Probing costs
    a Python start (about 2 s on a busy machine), so the answer is kept in
    ``<runtimes root>/.versions.json`` until the runtime's site-packages or ttsbuild's engine
    code changes: a no-op build does not start the runtimes."""
    python = python_of(engine, setting)
    stamp = _stamp(python, engine)
    cache_file = runtimes_root() / ".versions.json"
    cache: dict[str, str] = {}
    if stamp:
        try:
            cache = dict(json.loads(cache_file.read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            cache = {}
        if stamp in cache:
            return str(cache[stamp])
    found = str(probe(engine, setting)["version"])
    if stamp:
        try:
            write_text_atomic(cache_file, json.dumps({**cache, stamp: found}, indent=1))
        except OSError as exc:
            log.warning("ttsbuild: could not keep runtime versions in %s: %s", cache_file, exc)
    return found


def _stamp(python: Path, engine: str) -> str:
    """What an engine's version in a runtime depends on: the runtime's installed packages (the
    site-packages folders change when pip installs or removes anything) and ttsbuild's engine
    code. Empty when the runtime's site-packages cannot be found (then it is always probed)."""
    prefix = python.parent.parent
    parts = [engine, str(python), os.environ.get("TTSBUILD_ENGINE_PLUGINS", "")]
    found = sorted(prefix.glob("lib/python3*/site-packages"))
    if not found:
        return ""
    for folder in [*found, *sorted(Path(__file__).parent.glob("*.py"))]:
        parts.append(f"{folder}:{folder.stat().st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def create(engine: str, variant: str, progress: Callable[[str], None], force: bool = False) -> Path:
    """Create (or finish, or with ``force`` rebuild) an engine's managed runtime, reporting each
    pip step and pip's own progress lines through ``progress``. Returns its folder."""
    spec = spec_of(engine)
    folder = managed_dir(engine, variant)
    if (folder / MARKER).exists() and not force:
        progress(f"runtime {folder} exists (use --force to rebuild it)")
        return folder
    if folder.exists():
        shutil.rmtree(folder)  # unfinished or forced: start clean
    started = time.monotonic()
    progress(f"creating {folder}")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)  # noqa: S603
    python = str(folder / "bin" / "python")
    steps = install_steps(spec, variant)
    for i, step in enumerate(steps, 1):
        progress(f"step {i}/{len(steps)}: pip install {' '.join(step)}")
        _pip(python, step, progress)
    if variant == "cpu":
        _drop_cuda_torchaudio(python, progress)
    info = {
        "engine_spec": spec.name,
        "variant": variant,
        "steps": [list(s) for s in steps],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.monotonic() - started, 1),
    }
    write_text_atomic(folder / MARKER, json.dumps(info, indent=1) + "\n")
    progress(f"runtime {folder} ready in {info['seconds']} s")
    return folder


def _pip(python: str, step: tuple[str, ...], progress: Callable[[str], None]) -> None:
    cmd = [python, "-m", "pip", "install", "--progress-bar", "off", *step]
    proc = subprocess.Popen(  # noqa: S603 - pip with the engine's declared requirements
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        if line and not line.startswith("WARNING: Location"):
            tail = [*tail[-20:], line]
            if line.startswith(
                ("Collecting", "Processing", "Downloading", "Installing", "Successfully")
            ):
                progress(f"  {line}")
    if proc.wait() != 0:
        raise EngineError(f"pip install {' '.join(step)} failed: {tail[-1] if tail else ''}")


#: Every torchaudio wheel on PyPI is a CUDA build; with a CPU torch its compiled extension fails
#: to load, so its shared objects are removed (the pure-Python parts the engines use still work).
_DROP_TORCHAUDIO_SO = """
import importlib.util, pathlib, torch
spec = importlib.util.find_spec("torchaudio")
if torch.version.cuda is None and spec and spec.origin:
    for so in (pathlib.Path(spec.origin).parent / "lib").glob("*.so"):
        so.unlink()
        print("removed CUDA-linked torchaudio", so.name)
"""


def _drop_cuda_torchaudio(python: str, progress: Callable[[str], None]) -> None:
    done = subprocess.run(  # noqa: S603
        [python, "-c", _DROP_TORCHAUDIO_SO], capture_output=True, text=True
    )
    for line in done.stdout.splitlines():
        progress(f"  {line}")
    if done.returncode != 0:  # no torch in this runtime: nothing to drop, but say so
        why = (done.stderr.strip().splitlines() or ["?"])[-1]
        progress(f"warning: torchaudio's CUDA libraries not checked ({why})")


def list_managed() -> list[dict[str, Any]]:
    """Every managed runtime under :func:`runtimes_root`, finished or not."""
    root = runtimes_root()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            info = json.loads((folder / MARKER).read_text("utf-8"))
        except (OSError, ValueError):
            info = {"unfinished": True}
        found.append({"folder": str(folder), **info})
    return found


def _probe_main(engine: str, imports: bool) -> None:
    """Inside a runtime: print the engine's version and this environment as one JSON line."""
    import importlib

    from ttsbuild.engines import get_engine

    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what an engine's imports print goes to stderr, never into the answer
    sys.stdout = sys.stderr
    eng = get_engine(engine)
    spec = eng.info.runtime
    if imports and spec is not None:
        for module in spec.probe:
            importlib.import_module(module)
    env = environment(spec.package if spec is not None else "")
    protocol.write(json.dumps({"version": eng.version(), "environment": env}) + "\n")
    protocol.flush()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if len(sys.argv) >= 3 and sys.argv[1] == "probe":
        try:
            _probe_main(sys.argv[2], "--imports" in sys.argv[3:])
        except Exception as exc:  # noqa: BLE001 - reported to the main process as one line
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
            sys.exit(1)
    else:
        sys.stderr.write("usage: python -m ttsbuild.engines.runtimes probe ENGINE [--imports]\n")
        sys.exit(2)
