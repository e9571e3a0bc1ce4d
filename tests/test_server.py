"""The warm render server: reused across builds, same bytes, stale sockets and versions handled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import rendered_count
from ttsbuild.rendering import server

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow


def _start(project, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttsbuild.cli", "-C", str(project.path), "serve", *extra],
        env=project.env(TTSBUILD_FAKE_LOAD_SECONDS="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = server.socket_path(project.path)
    deadline = time.monotonic() + 30
    while server.probe_quiet(path) is None:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    return proc


def _edit(project, old: str, new: str) -> None:
    script = project.path / "scripts/ep1.txt"
    script.write_text(script.read_text().replace(old, new))


def test_builds_reuse_a_warm_server_and_get_identical_bytes(make_project):
    local = make_project(name="local")
    assert local.snakemake("-j1", "out/ep1.wav").returncode == 0

    project = make_project(name="warm")
    proc = _start(project)
    try:
        env = {"TTSBUILD_SERVER": "on", "TTSBUILD_FAKE_LOAD_SECONDS": "2"}
        first = project.snakemake("-j1", "out/ep1.wav", **env)
        assert first.returncode == 0, first.output
        assert "via render server" in first.output
        assert project.loads() == 1  # loaded by the server
        _edit(project, "Hello Bob.", "Hello again, Bob.")
        started = time.monotonic()
        second = project.snakemake("-j1", "out/ep1.wav", **env)
        assert second.returncode == 0, second.output
        assert rendered_count(second) == 1
        assert project.loads() == 1  # the second build paid no load
        assert time.monotonic() - started < 30
        _edit(project, "Hello again, Bob.", "Hello Bob.")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert len(project.segments()) == len(local.segments()) + 1  # one edited line
    for key, data in local.segments().items():
        assert project.segments()[key] == data


def test_stale_socket_is_removed_and_build_renders_locally(make_project):
    project = make_project()
    proc = _start(project)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    path = server.socket_path(project.path)
    assert path.exists()  # a dead server's socket
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    assert "via render server" not in result.output
    assert not path.exists()


def test_server_of_other_code_is_not_used(make_project, monkeypatch):
    project = make_project()
    proc = _start(project)
    try:
        path = server.socket_path(project.path)
        monkeypatch.setattr(server, "identity", lambda: "something-else")
        assert server.connect(project.path, "use") is None
        proc.wait(timeout=30)  # it was asked to stop
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists()


def test_idle_server_stops_by_itself(make_project):
    project = make_project()
    proc = _start(project, "--idle", "1")
    assert proc.wait(timeout=30) == 0


def test_required_server_missing_is_a_clear_error(make_project):
    project = make_project()
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_SERVER="on")
    assert result.returncode != 0
    assert "no render server runs for this project" in result.output


def test_auto_starts_a_server_on_demand(make_project):
    project = make_project()
    try:
        result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_SERVER="auto")
        assert result.returncode == 0, result.output
        assert "via render server" in result.output
    finally:
        server.stop(project.path)
