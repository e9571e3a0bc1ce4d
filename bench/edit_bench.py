"""Incremental assembly benchmark (issue 19): a one-line edit in a long episode against its floor.

    python bench/edit_bench.py                    # 5,000 lines (about 4.5 h) and 1,100 (about 1 h)
    python bench/edit_bench.py --lines 1100

For each episode: a cold build, a no-op, then one edited line, all through the real Snakefile
and profile with the deterministic fake engine (tests/fake_engine.py, clips made longer with
TTSBUILD_FAKE_LENGTH_SCALE so 5,000 lines last about 4.5 hours). In the same run it times the
I/O floor: a plain copy of the episode file (with fsync, as the build writes it durably). The
target: edit <= no-op + the one render + 2 x copy + 2 s. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_bench import env, rendered, run  # noqa: E402
from projects import edit_one_line, make_project  # noqa: E402

SCALE = "2.1"  # fake clips about 3 s long: 5,000 lines with gaps last about 4.5 hours


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
    noop, _, _ = run(project, "out/ep.wav", environment)
    before = {p.stem for p in (project / "build" / "segments").glob("*.json")}
    edit_one_line(project, lines // 2)
    edit, edit_rss, out = run(project, "out/ep.wav", environment)
    wav = project / "out" / "ep.wav"
    copy = min(plain_copy(wav) for _ in range(2))
    render = render_seconds(project, before)
    budget = noop + render + 2 * copy + 2.0
    return {
        "lines": lines,
        "hours": round(sf.info(str(wav)).duration / 3600, 2),
        "file_mb": round(wav.stat().st_size / 2**20),
        "cold_s": round(cold, 2),
        "noop_s": round(noop, 2),
        "edit_s": round(edit, 2),
        "rendered_on_edit": rendered(out),
        "render_s": round(render, 3),
        "copy_s": round(copy, 2),
        "budget_s": round(budget, 2),
        "met": edit <= budget,
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
                f"{n} lines ({r['hours']} h, {r['file_mb']} MB): cold {r['cold_s']} s, "
                f"no-op {r['noop_s']} s, edit {r['edit_s']} s ({r['rendered_on_edit']} rendered, "
                f"render {r['render_s']} s); budget no-op + render + 2 x copy "
                f"({r['copy_s']} s) + 2 s = {r['budget_s']} s: {'met' if r['met'] else 'MISSED'}; "
                f"peak RSS cold {r['cold_rss_mb']} MB, edit {r['edit_rss_mb']} MB",
                flush=True,
            )
    print(json.dumps({"edit_bench": rows}))


if __name__ == "__main__":
    main()
