"""Rendering progress (ttsbuild/workflow/progress.py): a bar on a terminal, plain lines in a
CI log, an estimate from the measured rate; and the summary of what the targets needed."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess

import pytest

from tests.conftest import FAKE_CONFIG, SNAKEFILE, SNAKEMAKE
from ttsbuild.workflow.progress import Console, Item, Progress


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _items(done: set[int], weights: list[int], batches: list[str]) -> list[Item]:
    return [Item(lambda i=i: i in done, w, b) for i, (w, b) in enumerate(zip(weights, batches))]


def test_the_estimate_comes_from_the_measured_rate_by_characters():
    done: set[int] = set()
    progress = Progress(_items(done, [10, 10, 20, 40], ["a", "a", "b", "b"]), now=0.0)
    assert progress.poll(1.0) == [] and progress.eta(1.0) is None  # no rate yet
    done.add(0)
    progress.poll(5.0)  # the first segment: after the model load, not a rate
    assert progress.eta(5.0) is None
    done.add(1)
    assert progress.poll(7.0) == ["a"]  # batch a is complete
    # 10 characters in 2 s since the first: 60 characters left -> 12 s
    assert progress.eta(7.0) == pytest.approx(12.0)
    assert progress.line(7.0) == (
        "ttsbuild: rendering 2/4 segments (50%), 0:07 elapsed, about 0:12 left"
    )
    assert progress.line(7.0, width=8).startswith("rendering [####....] 2/4 segments")


def test_not_a_terminal_plain_lines_per_finished_job_and_at_intervals():
    done: set[int] = set()
    clock = Clock()
    stream = io.StringIO()
    items = _items(done, [5] * 4, ["a", "a", "b", "b"])
    console = Console(
        Progress(items, clock()), stream, tty=False, interval=30, tick=3600, now=clock
    )
    console.start()  # the thread waits an hour: the test drives it by hand
    console.update()  # nothing new: no line
    done.add(0)
    clock.t += 10
    console.update()  # not due, no job finished: no line
    done.add(1)
    clock.t += 1
    console.update()  # job a finished: a line
    clock.t += 40
    console.update()  # 30 s since the last line: a line
    done.update({2, 3})
    clock.t += 1
    console.update()  # all done: the final line
    console.stop()  # nothing more
    lines = stream.getvalue().splitlines()
    assert lines[0] == "ttsbuild: rendering 4 segments in 2 render jobs"
    assert [re.sub(r", \d+:\d\d elapsed.*", "", ln) for ln in lines[1:]] == [
        "ttsbuild: rendering 2/4 segments (50%)",
        "ttsbuild: rendering 2/4 segments (50%)",
        "ttsbuild: rendering 4/4 segments (100%)",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert lines[-1].endswith("0:52 elapsed, done")


def test_a_terminal_gets_one_bar_redrawn_in_place_and_cleared_for_log_lines():
    import logging

    done: set[int] = set()
    clock = Clock()
    stream = io.StringIO()
    console = Console(
        Progress(_items(done, [5, 5], ["a", "a"]), clock()), stream, tty=True, now=clock
    )
    logger = logging.getLogger("ttsbuild")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        console.start()  # the thread waits an hour: the test drives it by hand
        console.update()
        done.add(0)
        clock.t += 1
        console.update()
        logger.warning("ttsbuild: a warning")  # the bar is cleared first, then redrawn
        console.update()
        console.stop()  # not all done: the bar stays, with a newline
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("\r\x1b[Krendering [") == 4
    assert "\r\x1b[Kttsbuild: a warning\n" in text  # not written after the bar's text
    assert text.endswith("1/2 segments (50%), 0:01 elapsed, stopped: 1 segment not rendered\n")


def _run_in_pty(command: list[str], cwd, env) -> tuple[int, str]:
    main, child = pty.openpty()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_a_real_build_on_a_terminal_and_in_a_log(make_project):
    """Real snakemake, the fake engine slowed down: a bar on a pty, plain lines through a pipe,
    no per-job file lists (profiles/default: quiet: [rules]), and the summary of the target."""
    project = make_project()
    env = project.env(TTSBUILD_FAKE_RENDER_SECONDS="0.3", TTSBUILD_PROGRESS_SECONDS="0.5")
    command = [*SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(project.path), "-j1", "out/ep1.wav"]
    code, screen = _run_in_pty(command, project.path, env)
    assert code == 0, screen
    bars = re.findall(r"\r\x1b\[Krendering \[[#.]{24}\] (\d+)/6 segments", screen)
    assert bars and bars[-1] == "6" and len(set(bars)) >= 2, screen
    assert "input: build/segments" not in screen  # the per-job file lists are off
    assert "build succeeded: ep1 needed 6 segments: 6 rendered now" in screen
    # Not a terminal: plain lines, no carriage returns.
    project.write(
        "scripts/ep1.txt", (project.path / "scripts/ep1.txt").read_text() + "[Bob] New.\n"
    )
    log = subprocess.run(
        command, cwd=project.path, env=env, capture_output=True, text=True, timeout=300
    )
    assert log.returncode == 0, log.stdout + log.stderr
    assert "ttsbuild: rendering 1 segment in 1 render job" in log.stderr
    assert "ttsbuild: rendering 1/1 segments (100%)" in log.stderr and "\r" not in log.stderr
    assert "needed 7 segments: 1 rendered now" in log.stderr


@pytest.mark.slow
def test_the_summary_counts_what_the_targets_needed_and_the_project_apart(make_project):
    """Building one episode of two: the last line and build-report.json's ``targets`` count
    that episode (also on a no-op rerun); ``project`` has the whole project."""
    import json

    config = FAKE_CONFIG.replace(
        "  ep1: {source: scripts/ep1.txt}\n",
        "  ep1: {source: scripts/ep1.txt}\n  ep2: {source: scripts/ep2.txt}\n",
    )
    project = make_project(config=config)
    project.write("scripts/ep2.txt", "[Alice] Only in two.\n[Bob] Me too.\nThe end.\n")
    for run in range(2):
        result = project.snakemake("-j1", "out/ep1.wav")
        assert result.returncode == 0, result.output
        rendered = 6 if run == 0 else 0
        assert (
            f"build succeeded: ep1 needed 6 segments: {rendered} rendered now" in result.output
        ), result.output
        assert "project: 2 episodes, 9 segments" in result.output
        report = json.loads((project.path / "out/build-report.json").read_text())
        assert report["targets"]["episodes"] == ["ep1"]
        assert report["targets"]["segments_total"] == 6
        assert report["targets"]["rendered_now"] == rendered
        assert report["targets"]["reused"] == 6 - rendered
        assert report["project"] == {"episodes": 2, "segments_total": 9}


@pytest.mark.parametrize("tty", [False, True])
def test_a_build_that_stops_short_ends_on_what_was_not_rendered_not_an_estimate(tty):
    """A failed segment or Ctrl-C: the final line says how many were not rendered, not
    'about 0:18 left' for a build that has ended (attack-c)."""
    done: set[int] = set()
    clock = Clock()
    stream = io.StringIO()
    console = Console(
        Progress(_items(done, [5] * 4, ["a"] * 4), clock()), stream, tty=tty, tick=3600, now=clock
    )
    console.start()
    done.update({0, 1})
    clock.t += 5
    console.update()
    done.add(2)
    clock.t += 5
    console.stop()  # segment 3 failed, or the build was interrupted
    last = stream.getvalue().replace("\r\x1b[K", "\n").splitlines()[-1]
    assert "3/4 segments (75%)" in last
    assert last.endswith("0:10 elapsed, stopped: 1 segment not rendered"), last
    assert "left" not in last
