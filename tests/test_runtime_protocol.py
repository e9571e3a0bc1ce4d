"""Runtimes that cannot hang or crash a build (issue 25, findings 3 and 4): every message of a
probe or a worker goes through one reader and one parser (ttsbuild/engines/protocol.py), with
timeouts and a size bound, and anything malformed is one line naming engine, runtime and fix.

Each "runtime" here is a small shell script standing in for a broken interpreter."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.test_runtimes import RUNTIME_CONFIG, SCRIPT, _jobs, fake_env  # noqa: F401
from ttsbuild.config.settings import RuntimeSetting
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.engines import protocol, runtimes
from ttsbuild.rendering.worker import render_in_runtime


def _runtime(tmp_path: Path, body: str, **timeouts: float) -> RuntimeSetting:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\n" + body + "\n")
    python.chmod(0o755)
    return RuntimeSetting.from_dict(
        {"python": str(python), **({"timeouts": timeouts} if timeouts else {})}
    )


PROBE_GARBAGE = {
    "not-json": "echo 'Loading model...'",
    "no-version": "echo '{\"environment\": {}}'",
    "list": "echo '[1, 2]'",
    "nothing": "exit 0",
    "version-not-a-string": 'echo \'{"version": 3, "environment": {}}\'',
    "not-utf8": "printf '\\377\\376\\n'",
}


@pytest.mark.parametrize("body", PROBE_GARBAGE.values(), ids=PROBE_GARBAGE.keys())
def test_a_malformed_probe_answer_is_one_line(tmp_path, body):
    setting = _runtime(tmp_path, body)
    with pytest.raises(TTSBuildError) as err:
        runtimes.probe("fake", setting)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"engine 'fake': runtime {tmp_path / 'python'} ")
    assert "ttsbuild runtime create fake" in line  # the fix


@pytest.mark.usefixtures("fake_env")
def test_a_malformed_probe_ends_planning_with_one_ttsbuild_line(make_project, tmp_path):
    bad = _runtime(tmp_path, "echo '[1, 2]'")
    project = make_project(
        config=RUNTIME_CONFIG.format(runtime=f"{{python: {bad.python}}}"), script=SCRIPT
    )
    result = project.plan_in_process()  # raised IndexError/TypeError through the Snakefile
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ttsbuild: error: ") and "engine 'fake'" in last
    assert "Traceback" not in result.stderr


def test_a_hung_probe_times_out_naming_the_setting(tmp_path):
    setting = _runtime(tmp_path, "sleep 30", probe=0.5)
    started = time.monotonic()
    with pytest.raises(TTSBuildError, match=r"within 0\.5 s.*timeouts\.probe"):
        runtimes.probe("fake", setting)
    assert time.monotonic() - started < 20  # not the old 600 s


def test_a_flooding_probe_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(protocol, "MAX_MESSAGE_BYTES", 1 << 20)
    setting = _runtime(tmp_path, "head -c 3000000 /dev/zero | tr '\\0' x")
    with pytest.raises(TTSBuildError, match="without a newline"):
        runtimes.probe("fake", setting)


WORKERS = {
    "never-says-hello": ("sleep 30", "hello", "within 0.5 s"),
    "stops-replying": ('echo \'{"ok": true, "environment": {}}\'; sleep 30', "render",
                       "within 0.5 s"),
    "garbage-reply": ('echo \'{"ok": true, "environment": {}}\'; read x; echo garbage', "",
                      "sent a malformed reply (or progress) (not JSON: 'garbage')"),
    "sigkilled": ('echo \'{"ok": true, "environment": {}}\'; read x; kill -9 $$', "",
                  "its worker ended while rendering (killed by signal 9 (SIGKILL"),
    "floods": ('echo \'{"ok": true, "environment": {}}\'; head -c 3000000 /dev/zero', "",
               "without a newline"),
    "hello-garbage": ("echo '{\"environment\": 1}'", "", "malformed hello"),
}  # fmt: skip


@pytest.mark.usefixtures("fake_env")
@pytest.mark.parametrize("body,timeout,expected", WORKERS.values(), ids=WORKERS.keys())
def test_a_broken_worker_is_one_line_and_never_hangs(
    make_project, tmp_path, monkeypatch, body, timeout, expected
):
    monkeypatch.setattr(protocol, "MAX_MESSAGE_BYTES", 1 << 20)
    jobs = _jobs(make_project)
    setting = _runtime(tmp_path, body, **({timeout: 0.5} if timeout else {}))
    started = time.monotonic()
    with pytest.raises(TTSBuildError) as err:
        render_in_runtime("fake", setting, jobs, tmp_path / "store", {})
    line = str(err.value)
    assert expected in line
    assert f"engine 'fake': runtime {tmp_path / 'python'}" in line and "\n" not in line
    assert "error is in the log above" not in line
    assert time.monotonic() - started < 30


@pytest.mark.usefixtures("fake_env")
def test_a_real_worker_sends_progress_per_segment_and_renders(make_project, tmp_path):
    """The render timeout is per segment: a healthy worker's progress messages reset it."""
    jobs = _jobs(make_project)
    setting = RuntimeSetting.from_dict({"python": sys.executable, "timeouts": {"render": 60}})
    assert render_in_runtime("fake", setting, jobs, tmp_path / "store", {}) == len(jobs)


def test_timeouts_come_from_the_schema():
    setting = RuntimeSetting.from_dict({"python": "p"})
    assert (setting.probe_timeout, setting.hello_timeout, setting.render_timeout) == (
        300.0,
        300.0,
        900.0,
    )
    assert RuntimeSetting.from_dict(setting.to_dict()) == setting
