"""GPU figures in one call (issue 28): prints tables, and one JSON object as its last line.

    python bench/gpu_bench.py                  # cuda, within 8 minutes
    python bench/gpu_bench.py --device cuda:1 --budget 600 --lines 32 --episode-tokens 200

1. **Batched T3 token generation** (Chatterbox English, released size: Llama 520M, 30 layers,
   random weights, stop token disabled so every segment generates ``--tokens`` tokens): batch
   1 (the adapter's loop, one segment at a time), 4, 8 and 16; tokens/s, peak VRAM, and whether
   each batch size's tokens equal batch 1's (bench/batch_bench.py's measurement).
2. **An episode build on the GPU against a bare loop on the same GPU**: a random checkpoint at
   the released size, ``--lines`` script lines (``--episode-tokens``, ``max_new_tokens``, caps
   each line; 16 lines of 100 tokens fit the 8 minutes after phase 1 on an H200), built with
   the documented command (``snakemake -j1``; ``engines.chatterbox: {device: cuda, batch_size:
   16}``) against the bare loop: the same model loaded once in one process, the same requests
   rendered one at a time and written to files. Ratio = build / bare loop.

Without a CUDA device it stops at once: one line on stderr, ``{"ok": false, "error": ...}`` as
the JSON line, exit code 2. Each phase gets what is left of ``--budget`` (seconds); a phase that
would not fit is skipped and says so in the JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))


def cuda_problem(device: str) -> str | None:
    """Why ``device`` cannot run here (None: it can)."""
    from ttsbuild.core.errors import EngineError
    from ttsbuild.rendering.models import check_cuda

    try:
        check_cuda(device)
    except EngineError as exc:
        return str(exc)
    return None


def t3_batches(args: argparse.Namespace) -> dict[str, Any]:
    """Phase 1: batch_bench's Chatterbox T3 measurement at batch 1/4/8/16 on the GPU."""
    import batch_bench

    ns = SimpleNamespace(
        engine="chatterbox",
        device=args.device,
        batch_sizes=[4, 8, 16],
        segments=args.segments,
        tokens=args.tokens,
        layers=2 if args.quick else None,
        baseline="batch1",
    )
    result: dict[str, Any] = batch_bench.chatterbox(ns)  # type: ignore[arg-type]
    tokens = args.segments * args.tokens
    result["tokens_per_s"] = {"1": round(tokens / result["sequential_s"], 1)} | {
        size: round(tokens / s, 1) for size, s in result["seconds"].items()
    }
    return result


CONFIG = """\
engine: chatterbox
batch_size: 100
engines:
  chatterbox: {{device: {device}, checkpoint_dir: {ckpt}, batch_size: 16}}
characters:
  narrator: {{voice: voices/a.wav, params: {{max_new_tokens: {tokens}}}}}
  alice: {{voice: voices/b.wav, params: {{max_new_tokens: {tokens}, exaggeration: 0.7}}}}
episodes:
  ep: {{source: scripts/ep.txt}}
"""

BARE_LOOP = """
import json, sys, time
from pathlib import Path
import soundfile as sf, torch
from ttsbuild.config.settings import EngineOptions
from ttsbuild.engines import get_engine
from ttsbuild.planning.plan import EpisodePlan
plan = EpisodePlan.from_dict(json.loads(Path(sys.argv[1]).read_text()))
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()
opts = EngineOptions.from_dict({"device": sys.argv[3], "checkpoint_dir": sys.argv[4]})
model = get_engine("chatterbox").load(opts)
for i, seg in enumerate(plan.segments()):
    audio = model.synthesize(seg.request)
    sf.write(str(out / f"{i}.wav"), audio.samples, audio.sample_rate, subtype="PCM_24")
cuda = sys.argv[3].startswith("cuda")
if cuda:
    torch.cuda.synchronize()
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_vram_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else 0}))
"""


def episode_build(args: argparse.Namespace, work: Path, budget: float) -> dict[str, Any]:
    """Phase 2: the documented build on the GPU against the bare loop on the same GPU."""
    from projects import line_text

    from tests.engines import checkpoints

    started = time.perf_counter()
    ckpt = checkpoints.build_chatterbox(work / "ckpt", False, released_size=not args.quick)
    project = work / "project"
    checkpoints.write_voice(project / "voices" / "a.wav", 170)
    checkpoints.write_voice(project / "voices" / "b.wav", 240)
    (project / "config").mkdir(parents=True, exist_ok=True)
    (project / "scripts").mkdir(parents=True, exist_ok=True)
    (project / "config" / "config.yaml").write_text(
        CONFIG.format(device=args.device, ckpt=ckpt, tokens=args.episode_tokens), encoding="utf-8"
    )
    rng = random.Random(1)
    lines = [f"[{('narrator', 'alice')[i % 2]}] {line_text(i, rng)}" for i in range(args.lines)]
    (project / "scripts" / "ep.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    snakemake = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-j1"]
    snakemake += ["-d", str(project), "out/ep.wav"]
    left = lambda: budget - (time.perf_counter() - started)  # noqa: E731
    dry = subprocess.run([*snakemake, "-n"], capture_output=True, text=True, timeout=left())
    if dry.returncode != 0:
        raise SystemExit(f"dry run failed:\n{dry.stderr[-3000:]}")
    plan = project / "build" / "plans" / "ep.json"
    bare = subprocess.run(
        [sys.executable, "-c", BARE_LOOP, str(plan), str(work / "bare"), args.device, str(ckpt)],
        capture_output=True,
        text=True,
        timeout=left(),
    )
    if bare.returncode != 0:
        raise SystemExit(f"bare loop failed:\n{bare.stderr[-3000:]}")
    baseline = json.loads(bare.stdout.strip().splitlines()[-1])
    t0 = time.perf_counter()
    build = subprocess.run(snakemake, capture_output=True, text=True, timeout=left())
    build_s = time.perf_counter() - t0
    if build.returncode != 0:
        raise SystemExit(f"build failed:\n{build.stderr[-3000:]}")
    return {
        "lines": args.lines,
        "max_new_tokens": args.episode_tokens,
        "bare_loop_s": round(baseline["seconds"], 2),
        "bare_loop_peak_vram_mb": round(baseline["peak_vram_mb"]),
        "build_s": round(build_s, 2),
        "ratio": round(build_s / baseline["seconds"], 3),
        "inference_batch_size": 16,
        "note": "build includes Snakemake's start, planning, the model load and assembly",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds, all phases")
    parser.add_argument("--segments", type=int, default=32, help="phase 1: segments")
    parser.add_argument("--tokens", type=int, default=200, help="phase 1: tokens per segment")
    parser.add_argument("--lines", type=int, default=16, help="phase 2: script lines")
    parser.add_argument(
        "--episode-tokens", type=int, default=100, help="phase 2: max_new_tokens per line"
    )
    parser.add_argument("--phases", nargs="+", choices=["t3", "episode"], default=["t3", "episode"])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny T3 (2 layers): checks the script's path, e.g. with --device cpu; its "
        "figures mean nothing",
    )
    args = parser.parse_args(argv)
    problem = cuda_problem(args.device) if args.device.startswith("cuda") else None
    if problem is not None:
        print(f"gpu_bench: {problem}", file=sys.stderr)
        print(json.dumps({"ok": False, "device": args.device, "error": problem}))
        return 2
    import torch

    started = time.perf_counter()
    cuda = args.device.startswith("cuda")
    result: dict[str, Any] = {
        "ok": True,
        "device": args.device,
        "gpu": torch.cuda.get_device_name(torch.device(args.device)) if cuda else None,
        "torch": torch.__version__,
        "quick": args.quick,
    }
    if "t3" in args.phases:
        result["t3"] = t3_batches(args)
    left = args.budget - (time.perf_counter() - started)
    if "episode" not in args.phases:
        pass
    elif left < 60:
        result["episode"] = {"skipped": f"{left:.0f} s of the budget left"}
    else:
        with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
            try:
                result["episode"] = episode_build(args, Path(tmp), left - 10)
            except subprocess.TimeoutExpired:
                result["episode"] = {"skipped": "ran past the budget"}
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
