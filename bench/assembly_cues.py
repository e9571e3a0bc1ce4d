"""Assembly time against the number of subtitle cues (issue 18, finding 6).

CPU time is printed next to wall time: on a shared machine it is the figure that compares.

    .venv/bin/python bench/assembly_cues.py 5000 20000 100000

For each N: a subtitle episode of N one-millisecond cues 5 ms apart (every cue's audio overflows
into the next), over 200 distinct texts, planned in-process with the fake engine
(tests/fake_engine.py); the distinct segments are rendered, then ``assemble_episode`` (the
assemble rule's body) is timed twice: cold (empty clip cache) and warm (clips cached).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIG = "engine: fake\ncharacters: {narrator: {}}\nepisodes:\n  ep1: {source: subs/ep1.srt}\n"


def _ts(ms: int) -> str:
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def run(n: int, distinct: int, base: Path) -> str:
    from ttsbuild.assembly.assemble import assemble_episode
    from ttsbuild.config import load_project
    from ttsbuild.planning.planner import plan_project
    from ttsbuild.rendering.batch import RenderJob
    from ttsbuild.rendering.render import render_jobs

    root = base / f"cues{n}"
    shutil.rmtree(root, ignore_errors=True)
    (root / "config").mkdir(parents=True)
    (root / "subs").mkdir()
    (root / "out").mkdir()
    (root / "config/config.yaml").write_text(CONFIG)
    cues = (
        f"{i + 1}\n{_ts(1000 + 5 * i)} --> {_ts(1001 + 5 * i)}\nLine {i % distinct}.\n"
        for i in range(n)
    )
    (root / "subs/ep1.srt").write_text("\n".join(cues))
    project = load_project(root)
    plan = plan_project(project)["ep1"]
    jobs = {s.key: RenderJob(s.key, s.request, "bench", s.speaker) for s in plan.segments()}
    render_jobs(list(jobs.values()), project.store, project.engines)
    plan_file = root / "build/plans/ep1.json"
    plan_file.parent.mkdir(parents=True)
    plan_file.write_text(json.dumps(dict(plan.to_dict(), output=project.output.to_dict())))
    out = [root / "out/ep1.wav", root / "out/ep1.srt", root / "out/ep1.timing.json"]
    figures = []
    for run_kind in ("cold", "warm"):
        wall, cpu = time.perf_counter(), time.process_time()
        assemble_episode(plan_file, project.store, project.output, *out, root / "build/clips")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        figures.append(
            f"{run_kind} {wall:7.1f} s wall, {cpu:7.1f} s CPU ({1000 * cpu / n:5.1f} ms CPU/cue)"
        )
    shutil.rmtree(root, ignore_errors=True)
    return f"{n:>7} cues  {len(jobs):>4} segments  " + "  ".join(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--distinct", type=int, default=200, help="distinct texts (segments)")
    args = parser.parse_args()
    os.environ["TTSBUILD_ENGINE_PLUGINS"] = "fake=tests.fake_engine:FakeEngine"
    import logging

    logging.getLogger("ttsbuild").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            print(run(n, args.distinct, Path(tmp)), flush=True)  # noqa: T201 - a CLI's output


if __name__ == "__main__":
    main()
