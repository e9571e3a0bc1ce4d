"""Incremental assembly benchmark (issue 19): a one-line edit in a long episode against its floor.

    python bench/edit_bench.py                    # 1,100 and 5,000 lines (about 1.4 h and 6.6 h)
    python bench/edit_bench.py --lines 1100

For each episode: a cold build, a no-op, then one edited line, all through the real Snakefile
and profile with the deterministic fake engine (tests/fake_engine.py, clips made longer with
TTSBUILD_FAKE_LENGTH_SCALE; the run prints the length). In the same run it times the I/O
floor: a plain copy of the episode file (with fsync, as the build writes it durably), and
Snakemake's own start: a no-op of a one-rule Snakefile, timed in turns with the no-op (medians
of 5), so a machine that slows down mid-run slows both alike. The targets (issue 28):
no-op <= Snakemake's start + 0.3 s; edit <= no-op + 2 x copy + 3 s (the one render included).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_bench import env, rendered, run  # noqa: E402
from projects import edit_one_line, make_project  # noqa: E402

ROUNDS = 5  # no-op and Snakemake's start, each the median of this many, taken in turns
SCALE = "2.1"  # fake clips made longer: 5,000 lines with gaps last about 6.6 hours


def plain_copy(path: Path) -> float:
    """Seconds to copy ``path`` next to itself and fsync it: the floor for writing it once."""
    dest = path.with_name(".copy-" + path.name)
    start = time.perf_counter()
    shutil.copyfile(path, dest)
    with open(dest, "rb+") as f:
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - start
    dest.unlink()
    return elapsed


def trivial_project(workdir: Path) -> list[str]:
    """A one-rule Snakefile whose output is present: the command that times Snakemake's start."""
    root = workdir / "trivial"
    root.mkdir(exist_ok=True)
    (root / "Snakefile").write_text('rule one:\n    output: "a.txt"\n    shell: "touch {output}"\n')
    (root / "a.txt").write_text("")
    snakefile = str(root / "Snakefile")
    return [sys.executable, "-m", "snakemake", "-j1", "-d", str(root), "-s", snakefile, "a.txt"]


def snakemake_start(trivial: list[str]) -> float:
    """Seconds for Snakemake itself to start and find nothing to do: what no workflow run by
    this interpreter can go below."""
    start = time.perf_counter()
    subprocess.run(trivial, capture_output=True, check=True)
    return time.perf_counter() - start


def render_seconds(project: Path, before: set[str]) -> float:
    """Engine seconds of the segments rendered since ``before`` (from their sidecars)."""
    total = 0.0
    for side in (project / "build" / "segments").glob("*.json"):
        if side.stem not in before:
            total += json.loads(side.read_text())["render_seconds"]
    return total


def bench(lines: int, workdir: Path) -> dict[str, float]:
    project = make_project(workdir / f"ep{lines}", lines)
    environment = env(workdir / "loads.txt", TTSBUILD_FAKE_LENGTH_SCALE=SCALE)
    cold, cold_rss, _ = run(project, "out/ep.wav", environment)
    trivial = trivial_project(workdir)
    starts, noops = [], []
    for _ in range(ROUNDS):  # interleaved: a machine that slows down slows both alike
        starts.append(snakemake_start(trivial))
        noops.append(run(project, "out/ep.wav", environment)[0])
    start, noop = statistics.median(starts), statistics.median(noops)
    before = {p.stem for p in (project / "build" / "segments").glob("*.json")}
    edit_one_line(project, lines // 2)
    edit, edit_rss, out = run(project, "out/ep.wav", environment)
    wav = project / "out" / "ep.wav"
    copy = min(plain_copy(wav) for _ in range(2))
    render = render_seconds(project, before)
    edit_floor = noop + 2 * copy + 3.0
    return {
        "lines": lines,
        "hours": round(sf.info(str(wav)).duration / 3600, 2),
        "file_mb": round(wav.stat().st_size / 2**20),
        "cold_s": round(cold, 2),
        "snakemake_start_s": round(start, 2),
        "noop_s": round(noop, 2),
        "noop_over_start_s": round(noop - start, 2),
        "noop_met": noop <= start + 0.3,
        "edit_s": round(edit, 2),
        "rendered_on_edit": rendered(out),
        "render_s": round(render, 3),
        "copy_s": round(copy, 2),
        "edit_floor_s": round(edit_floor, 2),
        "edit_met": edit <= edit_floor,
        "cold_rss_mb": cold_rss // 1024,
        "edit_rss_mb": edit_rss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1100, 5000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ttsbuild-edit-bench-") as tmp:
        for n in args.lines:
            rows.append(bench(n, Path(tmp)))
            r = rows[-1]
            print(
                f"{n} lines ({r['hours']} h, {r['file_mb']} MB): cold {r['cold_s']} s; no-op "
                f"{r['noop_s']} s, Snakemake's own start {r['snakemake_start_s']} s (medians of "
                f"{ROUNDS}, in turns; + {r['noop_over_start_s']} s, "
                f"target + 0.3 s: {'met' if r['noop_met'] else 'MISSED'}); edit {r['edit_s']} s "
                f"({r['rendered_on_edit']} rendered, render {r['render_s']} s) against no-op + "
                f"2 x copy ({r['copy_s']} s) + 3 s = {r['edit_floor_s']} s: "
                f"{'met' if r['edit_met'] else 'MISSED'}; peak RSS cold {r['cold_rss_mb']} MB, "
                f"edit {r['edit_rss_mb']} MB",
                flush=True,
            )
    print(json.dumps({"edit_bench": rows}))


if __name__ == "__main__":
    main()
