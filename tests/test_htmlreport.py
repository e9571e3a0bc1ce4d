"""The visual report renders in a real headless Chromium and draws the timeline."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import FAKE_CONFIG

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow

PIL = pytest.importorskip("PIL.Image")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

SRT = """\
1
00:00:01,000 --> 00:00:03,000
[alice] A cue with room to spare.

2
00:00:03,100 --> 00:00:03,300
[bob] This line is far too long for its tiny cue, so it must be cut short.

3
00:00:04,000 --> 00:00:06,000
[alice] The last cue.
"""


def _count(image, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    pixels = np.asarray(image, dtype=np.int16)
    return int(np.all(np.abs(pixels - np.array(rgb)) <= tolerance, axis=-1).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_report_screenshot_shows_lanes_and_flags(make_project, tmp_path):
    config = FAKE_CONFIG + (
        "  ep2:\n    source: scripts/ep2.srt\n    timing: {mode: pad_with_silence, overflow: cut}\n"
    )
    project = make_project(config)
    project.write("scripts/ep2.srt", SRT)
    build = project.snakemake("-j1", "out/ep1.wav", "out/ep2.wav")
    assert build.returncode == 0, build.output
    result = project.ttsbuild("report")
    assert result.returncode == 0, result.output
    page = project.path / "out" / "report.html"
    text = page.read_text()
    assert text.count('class="clip') == 6 + 3 and 'class="clip flagged"' in text
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1300,1400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = PIL.open(shot).convert("RGB")
    assert _count(image, (31, 119, 180)) > 300  # first lane (narrator) drawn
    assert _count(image, (44, 160, 44)) > 300  # second lane (alice)
    assert _count(image, (214, 39, 40)) > 30  # the truncated cue, highlighted
