"""Engines in their own runtimes: config, managed-runtime layout, workers (docs/engines.md).

The fake engine stands in for a heavy one; its "runtime" is this test's own interpreter, which
exercises the whole worker path (a separate process, the JSON-lines protocol, the store writes)
in about a second. Real Chatterbox/F5 runtimes are in tests/engines/test_runtimes.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, rendered_count
from ttsbuild.config.settings import EngineOptions, RuntimeSetting
from ttsbuild.core.errors import ConfigError, EngineError, RenderError
from ttsbuild.engines import runtimes
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.render import render_jobs
from ttsbuild.rendering.worker import render_in_runtime
from ttsbuild.store.segments import read_sidecar

RUNTIME_CONFIG = """\
engine: fake
engines:
  fake: {{runtime: {runtime}}}
characters:
  narrator: {{}}
  alice: {{params: {{speed: 1.1}}}}
episodes:
  ep1: {{source: scripts/ep1.txt}}
"""

SCRIPT = "The narrator opens.\n[Alice] Hello there.\n[Alice] Goodbye.\n"


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a build's job process has: the fake engine registered, the repo importable."""
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    runtimes.engine_version.cache_clear()


def _jobs(make_project) -> list[RenderJob]:
    from ttsbuild.config.project import load_project
    from ttsbuild.planning.planner import Planner

    project = make_project(
        config=RUNTIME_CONFIG.format(runtime="{python: " + sys.executable + "}"), script=SCRIPT
    )
    project.write("scripts/ep1.txt", SCRIPT)
    plan = Planner(load_project(project.path)).plan_episode("ep1")
    return [RenderJob(s.key, s.request, f"ep1.txt:{s.line}", s.speaker) for s in plan.segments()]


def test_settings_and_schema() -> None:
    from ttsbuild.config.schema import with_defaults

    assert RuntimeSetting.from_dict({"python": "/x/bin/python"}) == RuntimeSetting(
        "/x/bin/python", False, "cpu", 300.0, 300.0, 900.0
    )
    managed = RuntimeSetting.from_dict({"managed": True, "variant": "gpu"})
    assert managed.managed and managed.variant == "gpu"
    assert RuntimeSetting.from_dict(managed.to_dict()) == managed
    for bad in ({"python": "p", "managed": True}, {}, {"managed": False}, {"pyhton": "p"}):
        with pytest.raises(ConfigError):
            with_defaults("runtime", bad)
    # the runtime is not an engine option (never sent to a model, never in a key)
    assert EngineOptions.from_dict({"runtime": {"managed": True}}).device == "auto"


def test_managed_dir_is_outside_the_project_and_follows_the_requirements(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TTSBUILD_RUNTIMES", str(tmp_path / "rt"))
    en = runtimes.managed_dir("chatterbox", "cpu")
    assert en.parent == tmp_path / "rt" and en.name.startswith("chatterbox-cpu-")
    # English and multilingual Chatterbox declare the same requirements: one runtime
    assert runtimes.managed_dir("chatterbox-multilingual", "cpu") == en
    assert runtimes.managed_dir("chatterbox", "gpu") != en
    assert runtimes.managed_dir("f5tts", "cpu").name.startswith("f5tts-cpu-")
    steps = runtimes.install_steps(runtimes.spec_of("chatterbox"), "cpu")
    assert "numpy<2" in steps[-1] and "soundfile>=0.12" in steps[-1]
    assert not any(s.startswith("snakemake") for s in steps[-1])
    monkeypatch.setattr(runtimes, "worker_requirements", lambda: ("numpy>=1.24", "soxr>=9"))
    assert runtimes.managed_dir("chatterbox", "cpu") != en  # changed requirements: new runtime
    monkeypatch.delenv("TTSBUILD_RUNTIMES")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert runtimes.runtimes_root() == tmp_path / "cache" / "ttsbuild" / "runtimes"


def test_worker_renders_the_same_bytes_and_records_its_environment(
    make_project, fake_env, tmp_path: Path
) -> None:
    jobs = _jobs(make_project)
    here, there = tmp_path / "in-process", tmp_path / "worker"
    assert render_jobs(jobs, here, {}) == 3
    setting = RuntimeSetting.from_dict({"python": sys.executable})
    assert render_in_runtime("fake", setting, jobs, there, {}) == 3
    for job in jobs:
        assert (there / f"{job.key}.wav").read_bytes() == (here / f"{job.key}.wav").read_bytes()
        side = read_sidecar(there, job.key)
        assert side is not None and side.environment is not None
        assert side.environment["python"] == ".".join(map(str, sys.version_info[:3]))
        assert side.environment["numpy"]
        assert read_sidecar(here, job.key).environment is None  # type: ignore[union-attr]
    assert render_in_runtime("fake", setting, jobs, there, {}) == 0  # already stored


def test_worker_failure_is_the_in_process_error(
    make_project, fake_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _jobs(make_project)
    monkeypatch.setenv("TTSBUILD_FAKE_FAIL", "Hello")
    setting = RuntimeSetting.from_dict({"python": sys.executable})
    with pytest.raises(RenderError) as remote:
        render_in_runtime("fake", setting, jobs, tmp_path / "w", {})
    with pytest.raises(RenderError) as local:
        render_jobs(jobs, tmp_path / "l", {})
    assert str(remote.value) == str(local.value)
    assert "ep1.txt:2 (alice): engine 'fake' failed: fake failure on 'Hello'" in str(remote.value)
    assert len(list((tmp_path / "w").glob("*.wav"))) == 2  # the others were kept


def test_missing_and_broken_runtimes_are_one_line(make_project, fake_env, tmp_path: Path) -> None:
    project = make_project(
        config=RUNTIME_CONFIG.format(runtime="{python: /no/such/python}"), script=SCRIPT
    )
    result = project.plan_in_process()
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert "config/config.yaml:" in line
    assert "engine 'fake': runtime interpreter /no/such/python not found" in line
    assert "ttsbuild runtime create fake" in line

    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ModuleNotFoundError: numpy' >&2\nexit 1\n")
    broken.chmod(0o755)
    project.write("config/config.yaml", RUNTIME_CONFIG.format(runtime=f"{{python: {broken}}}"))
    line = project.plan_in_process().stderr.strip().splitlines()[-1]
    assert f"engine 'fake': runtime {broken} is broken (ModuleNotFoundError: numpy)" in line

    with pytest.raises(EngineError, match="could not start a worker"):
        render_in_runtime(
            "fake", RuntimeSetting.from_dict({"python": str(broken)}), [], tmp_path, {}
        )


def test_managed_runtime_not_created_names_the_command(
    make_project, fake_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTSBUILD_RUNTIMES", str(tmp_path / "rt"))
    setting = RuntimeSetting.from_dict({"managed": True})
    with pytest.raises(EngineError) as err:
        runtimes.python_of("chatterbox", setting)
    assert str(err.value) == (
        f"engine 'chatterbox': managed runtime {runtimes.managed_dir('chatterbox', 'cpu')} "
        "is not created; run: ttsbuild runtime create chatterbox"
    )
    with pytest.raises(EngineError, match="declares no managed runtime"):
        runtimes.python_of("fake", setting)


def test_engine_version_is_probed_once_per_runtime_state(
    fake_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A no-op build must not start every runtime: the version is kept until pip changes it."""
    monkeypatch.setenv("TTSBUILD_RUNTIMES", str(tmp_path / "rt"))
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (venv / "bin" / "python").chmod(0o755)
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    setting = RuntimeSetting.from_dict({"python": str(venv / "bin" / "python")})
    assert runtimes.engine_version("fake", setting) == "fake==1"  # probed for real
    runtimes.engine_version.cache_clear()

    def no_probe(*args: object, **kwargs: object) -> dict[str, object]:
        raise AssertionError("probed again")

    monkeypatch.setattr(runtimes, "probe", no_probe)
    assert runtimes.engine_version("fake", setting) == "fake==1"  # from the cache
    runtimes.engine_version.cache_clear()
    (site / "new_package-1.0.dist-info").mkdir()  # pip installed something
    os.utime(site, ns=(1, 1))
    with pytest.raises(AssertionError, match="probed again"):
        runtimes.engine_version("fake", setting)


def test_runtime_cli_check_and_list(make_project, tmp_path: Path) -> None:
    project = make_project(
        config=RUNTIME_CONFIG.format(runtime="{python: " + sys.executable + "}"), script=SCRIPT
    )
    result = project.ttsbuild("runtime", "check", "fake", TTSBUILD_RUNTIMES=str(tmp_path / "rt"))
    assert result.returncode == 0, result.output
    assert "fake: ok, version fake==1" in result.stdout
    assert f"executable: {sys.executable}" in result.stdout
    listed = project.ttsbuild("runtime", "list", TTSBUILD_RUNTIMES=str(tmp_path / "rt"))
    assert listed.returncode == 0 and f"project engine fake: {sys.executable}" in listed.stdout


def _start_worker_under_parent(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A parent process (in its own session) that starts a worker and then sleeps."""
    pidfile = tmp_path / "worker.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time;"
            "p = subprocess.Popen([sys.executable, '-m', 'ttsbuild.rendering.worker', 'fake'],"
            " stdin=subprocess.PIPE, stdout=subprocess.PIPE);"
            f"open({str(pidfile)!r}, 'w').write(str(p.pid)); p.stdout.readline(); time.sleep(60)",
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), runtimes._source_link()])},
        start_new_session=True,
    )
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.05)
    worker = int(pidfile.read_text())
    time.sleep(1.0)  # the worker is up and waiting on its stdin
    assert _alive(worker)
    return parent, worker


def test_a_worker_dies_with_its_parent(fake_env, tmp_path: Path) -> None:
    """SIGKILL the process that started a worker: the worker is gone within seconds."""
    parent, worker = _start_worker_under_parent(tmp_path)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _gone_within(worker, 5.0)


def test_ctrl_c_ends_a_worker(fake_env, tmp_path: Path) -> None:
    """Ctrl-C reaches the worker (same process group as the build): it leaves at once, even
    while its parent is still alive."""
    parent, worker = _start_worker_under_parent(tmp_path)
    try:
        os.kill(worker, signal.SIGINT)
        assert _gone_within(worker, 5.0)
        assert parent.poll() is None
    finally:
        parent.kill()
        parent.wait()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_build_through_a_runtime_then_no_op_then_kill_leaves_no_worker(
    make_project, tmp_path: Path
) -> None:
    config = RUNTIME_CONFIG.format(runtime="{python: " + sys.executable + "}")
    project = make_project(config=config, script=SCRIPT)
    first = project.snakemake("-j1", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 3 and project.loads() == 1
    assert "fake's runtime rendered 3 of 3 segments" in first.output
    report = json.loads((project.path / "out/build-report.json").read_text())
    assert report["environments"]["fake"]["executable"] == sys.executable
    again = project.snakemake("-j1", "out/ep1.wav")
    assert again.returncode == 0 and rendered_count(again) == 0 and project.loads() == 1

    # a slow render: kill Snakemake while the worker renders; no worker may remain
    project.write("scripts/ep1.txt", SCRIPT + "[Alice] One more line.\n")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(project.path),
    ]
    proc = subprocess.Popen(
        [*cmd, "-j1", "out/ep1.wav"],
        env=project.env(TTSBUILD_FAKE_RENDER_SECONDS="60"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = _wait_for_worker(proc.pid, 60.0)
    assert worker is not None, "no worker started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone_within(worker, 5.0)


def _wait_for_worker(root: int, seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"ttsbuild.rendering.worker" in cmdline and _descends(int(entry.name), root):
                return int(entry.name)
        time.sleep(0.2)
    return None


def _descends(pid: int, root: int) -> bool:
    while pid > 1:
        if pid == root:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False
