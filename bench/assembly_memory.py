"""Peak memory of assembling subtitle episodes against a script episode of the same length.

Builds synthetic stores (one tone segment per cue, 1-2.5 s each, cues 3 s apart, so some cues
overflow and get stretched) and assembles each size in a fresh process, printing wall time
and peak RSS. Memory should stay flat in the number of cues: compare the ratios.

    python bench/assembly_memory.py --cues 200 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np
from ttsbuild.assembly.assemble import assemble_episode
from ttsbuild.config.settings.settings import OutputSettings
from ttsbuild.core.audio import Audio, write_audio
from ttsbuild.core.request import RenderRequest, Voice
from ttsbuild.planning.key import segment_key
from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.store.segments.segments import segment_path

work, n, kind, stage = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rate = 24000
store = work / "store"
segs, cues = [], []
for i in range(n):
    r = RenderRequest(f"Cue number {i}.", "fake", "1", "m", "en", Voice("", "v"), (), i)
    key = segment_key(r)
    seconds = 1.0 + 1.5 * ((i * 7919) % 100) / 100
    if stage == "prepare":
        t = np.arange(int(seconds * 16000)) / 16000
        write_audio(segment_path(store, key), Audio((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000))
    segs.append(Segment(key, i + 1, 0, 1, "narrator", r, i + 1 if kind == "srt" else None))
    cues.append({"cue": i + 1, "number": i + 1, "line": 4 * i, "start_ms": 3000 * i,
                 "end_ms": 3000 * i + 2000, "display": f"Cue number {i}.", "descriptions": []})
if stage == "prepare":
    sys.exit(0)
extra = {"srt": {"encoding": "utf-8", "timing": {"mode": "smart_natural"}, "cues": cues}} if kind == "srt" else {}
plan = EpisodePlan("ep", "ep." + kind, tuple(segs), extra)
(work / "plan.json").write_text(json.dumps(plan.to_dict()))
out = work / ("out-" + kind)
out.mkdir(exist_ok=True)
assemble_episode(work / "plan.json", store, OutputSettings.from_dict({}), out / "ep.wav",
                 out / "ep.srt", out / "ep.timing.json", work / "clips" / kind)
"""


def run(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=REPO)
    _, status, usage = __import__("os").wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed: {args}")
    return time.perf_counter() - start, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cues", type=int, nargs="+", default=[200, 2000])
    args = parser.parse_args()
    rows = []
    for n in args.cues:
        with tempfile.TemporaryDirectory() as tmp:
            run([tmp, str(n), "srt", "prepare"])
            for kind in ("srt", "txt"):
                cold = run([tmp, str(n), kind, "assemble"])
                warm = run([tmp, str(n), kind, "assemble"])
                rows.append(
                    {
                        "cues": n,
                        "source": kind,
                        "cold_s": round(cold[0], 2),
                        "cold_rss_mb": cold[1],
                        "cached_s": round(warm[0], 2),
                        "cached_rss_mb": warm[1],
                    }
                )
    print("| cues | source | cold s | cold peak RSS MB | cached s | cached peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['cues']} | {r['source']} | {r['cold_s']} | {r['cold_rss_mb']} | "
            f"{r['cached_s']} | {r['cached_rss_mb']} |"
        )
    small = {r["source"]: r for r in rows if r["cues"] == min(args.cues)}
    large = {r["source"]: r for r in rows if r["cues"] == max(args.cues)}
    ratios = {k: round(large[k]["cold_rss_mb"] / small[k]["cold_rss_mb"], 2) for k in small}
    print(json.dumps({"rss_ratio_largest_to_smallest": ratios, "rows": rows}))


if __name__ == "__main__":
    main()
