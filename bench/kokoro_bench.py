"""Kokoro-82M against Piper in one run (issue 27): real-time factor, thread counts, batching.

    python bench/kokoro_bench.py                      # 8 Japanese and 8 English lines
    python bench/kokoro_bench.py --lines 16 --threads 1 2 4

Both engines are loaded through ttsbuild's own adapters (what a render job runs). Each line is
synthesized once untimed (warm-up) per engine, then timed; the real-time factor (RTF) is
synthesis seconds over audio seconds (below 1 is faster than real time). The ratio
Kokoro RTF / Piper RTF is the figure to compare across machines, since both share the load of
the machine at the time.

Threads: the same lines rendered with ONNX Runtime sessions of each ``--threads`` count; the
audio's sha256 per count says whether the thread count changes the bytes, and the time what it
buys. Batching: the graph's declared input shapes, and whether it accepts a batch of two.

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

JAPANESE = [
    "いらっしゃいませ。",
    "今日は寒いですね。",
    "温かいお茶をお持ちします。",
    "京都は初めてなので、とても楽しみです。",
    "駅までの道を教えていただけますか。",
    "昨日の夜、古い友達から手紙が届きました。",
    "雨がやんだら、川のそばを散歩しましょう。",
    "この店のお菓子は、昔から町の人に愛されています。",
]
ENGLISH = [
    "Welcome in.",
    "It is cold today.",
    "I will bring you some warm tea.",
    "This is my first time in Kyoto, so I am looking forward to it.",
    "Could you tell me the way to the station?",
    "Last night a letter arrived from an old friend.",
    "When the rain stops, let us walk along the river.",
    "The sweets of this shop have been loved by the people of the town for years.",
]


def _requests(engine_name: str, texts: list[str], language: str, voice_setting: str) -> list:
    from ttsbuild.core.request import RenderRequest
    from ttsbuild.engines import get_engine

    engine = get_engine(engine_name)
    voice = engine.voice(voice_setting, "", ".")
    return [
        RenderRequest(t, engine_name, engine.version(), "m", language, voice, (("speed", 1.0),), 0)
        for t in texts
    ]


def _time(model, requests) -> tuple[float, float, str]:
    """(synthesis seconds, audio seconds, sha256 of all the audio) over ``requests``."""
    digest = hashlib.sha256()
    audio_s = synth_s = 0.0
    for request in requests:
        started = time.perf_counter()
        audio = model.synthesize(request)
        synth_s += time.perf_counter() - started
        audio_s += audio.duration
        digest.update(audio.samples.tobytes())
    return synth_s, audio_s, digest.hexdigest()[:16]


def _engine_figures(name: str, requests) -> dict:
    from ttsbuild.config.settings import EngineOptions
    from ttsbuild.engines import get_engine

    started = time.perf_counter()
    model = get_engine(name).load(EngineOptions.from_dict({}))
    _time(model, requests[:1])  # the first call loads lazily (Piper's voice, ORT arenas)
    load_s = time.perf_counter() - started
    synth_s, audio_s, sha = _time(model, requests)
    return {
        "load_and_first_s": round(load_s, 2),
        "synth_s": round(synth_s, 2),
        "audio_s": round(audio_s, 2),
        "rtf": round(synth_s / audio_s, 3),
        "sha256": sha,
    }


def _threads(requests, counts: list[int]) -> dict:
    from ttsbuild.config.settings import EngineOptions
    from ttsbuild.engines import kokoro

    out = {}
    for n in counts:
        kokoro.INTRA_OP_THREADS = n
        model = kokoro.KokoroModel(EngineOptions.from_dict({}))
        _time(model, requests[:1])
        synth_s, audio_s, sha = _time(model, requests)
        out[str(n)] = {
            "synth_s": round(synth_s, 2),
            "rtf": round(synth_s / audio_s, 3),
            "sha256": sha,
        }
    kokoro.INTRA_OP_THREADS = 1
    return out


def _batching() -> dict:
    import numpy as np
    import onnxruntime as ort

    from ttsbuild.engines import kokoro

    session = ort.InferenceSession(str(kokoro._verified_model_path()))
    shapes = {i.name: i.shape for i in session.get_inputs()}
    try:
        session.run(
            None,
            {
                "tokens": np.zeros((2, 8), dtype=np.int64),
                "style": np.zeros((2, 256), dtype=np.float32),
                "speed": np.ones(2, dtype=np.float32),
            },
        )
        accepted, error = True, ""
    except Exception as exc:  # onnxruntime's InvalidArgument
        accepted, error = False, str(exc).splitlines()[0][:200]
    return {"input_shapes": shapes, "batch_of_two_accepted": accepted, "error": error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=8, help="lines per engine (cycled)")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2, 4])
    args = parser.parse_args()
    ja = [JAPANESE[i % len(JAPANESE)] for i in range(args.lines)]
    en = [ENGLISH[i % len(ENGLISH)] for i in range(args.lines)]
    kokoro_requests = _requests("kokoro", ja, "ja", "jf_alpha")
    piper_requests = _requests("piper", en, "en", "bundled")
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "lines": args.lines,
        "piper": _engine_figures("piper", piper_requests),
        "kokoro": _engine_figures("kokoro", kokoro_requests),
    }
    result["kokoro_rtf_over_piper_rtf"] = round(result["kokoro"]["rtf"] / result["piper"]["rtf"], 2)
    result["kokoro_threads"] = _threads(kokoro_requests, args.threads)
    result["kokoro_batching"] = _batching()
    for name in ("piper", "kokoro"):
        r = result[name]
        print(f"{name:7s} RTF {r['rtf']:.3f}  ({r['synth_s']} s for {r['audio_s']} s of audio)")
    print(f"Kokoro RTF / Piper RTF: {result['kokoro_rtf_over_piper_rtf']}")
    for n, r in result["kokoro_threads"].items():
        print(f"kokoro {n} thread(s): RTF {r['rtf']:.3f}  sha256 {r['sha256']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
