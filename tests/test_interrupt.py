"""Ctrl-C and SIGTERM during a real build: rendering stops between segments, what finished is
kept, the build says so and exits 130 (143), and the rerun renders only the rest."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import SNAKEFILE, SNAKEMAKE, rendered_count


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_stops_between_segments_and_the_rerun_renders_the_rest(
    make_project, tmp_path, sig, code
):
    project = make_project()
    renders = tmp_path / "renders.txt"
    env = project.env(TTSBUILD_FAKE_RENDER_SECONDS="0.8", TTSBUILD_FAKE_RENDERS=str(renders))
    cmd = [*SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(project.path), "-j1", "out/ep1.wav"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if renders.exists() and len(renders.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, out + err
    kept = len(project.segments())
    assert 2 <= kept < 6, err  # the segment being rendered finishes; no new one starts
    assert len(renders.read_text().splitlines()) == kept
    assert f"ttsbuild: interrupted: {kept} rendered and kept, rerun to continue" in err
    assert "Traceback" not in err
    report = json.loads((project.path / "out/build-report.json").read_text())
    assert report["interrupted"] is True and report["success"] is False
    assert not (project.path / "out/ep1.wav").exists()
    rerun = project.snakemake("-j1", "out/ep1.wav")
    assert rerun.returncode == 0, rerun.output
    assert rendered_count(rerun) == 6 - kept
