"""Tiny random-weight checkpoints of the real Chatterbox and F5-TTS model classes (tests only).

Each builder instantiates the library's own classes with random weights and writes them in the
layout and file names of the released checkpoints, so the adapters load them through exactly the
code path that loads real weights. Sizes are cut where the architecture allows: T3 keeps its
1024-wide hidden state (the conditioning encoder is fixed to it) but gets few layers and a narrow
MLP; S3Gen and the voice encoder have fixed sizes; F5's DiT and the Vocos vocoder are tiny.
Random weights never emit a stop token: tests cap generation with ``max_new_tokens``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SPECIAL = ["[START]", "[STOP]", "[UNK]", "[SPACE]", "[PAD]", "[SEP]", "[CLS]", "[MASK]"]
CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()äöüßéèàç")


def write_voice(
    path: Path, freq: float, seconds: float = 3.0, rate: int = 22050, channels: int = 1
) -> Path:
    """A voiced, speech-like test reference: a harmonic tone with vibrato and syllable envelope."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = freq * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    audio = (0.2 * wave * envelope).astype(np.float32)
    if channels > 1:
        audio = np.stack([audio] * channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate)
    return path


def _tokenizer(path: Path, extra: list[str]) -> None:
    from tokenizers import Tokenizer, models

    tokens = SPECIAL + extra + CHARS
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tok.add_special_tokens(SPECIAL + extra)
    tok.save(str(path))


def _save(state: dict, path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().clone() for k, v in state.items()}
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, str(path))


def build_chatterbox(folder: Path, multilingual: bool, released_size: bool = False) -> Path:
    """A random checkpoint for ``chatterbox`` (English) or ``chatterbox-multilingual``;
    ``released_size``: T3 at the released size (30 layers, 532 M parameters: bench/gpu_bench.py)."""
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder

    from ttsbuild.engines.chatterbox import (
        ENGLISH_FILES,
        MULTILINGUAL_FILES,
        MULTILINGUAL_LANGUAGES,
    )
    from ttsbuild.engines.chatterbox_t3 import t3_config

    torch.manual_seed(1234)
    folder.mkdir(parents=True, exist_ok=True)
    ve_file, t3_file, s3_file, tok_file = MULTILINGUAL_FILES if multilingual else ENGLISH_FILES
    # The multilingual alignment analyzer reads attention of layers 9, 12 and 13.
    if released_size:
        t3 = T3(t3_config(multilingual))
    else:
        t3 = T3(t3_config(multilingual, layers=14 if multilingual else 2, intermediate=256))
    _save(t3.state_dict(), folder / t3_file)
    _save(VoiceEncoder().state_dict(), folder / ve_file)
    _save(S3Gen().state_dict(), folder / s3_file)
    langs = sorted(MULTILINGUAL_LANGUAGES)
    _tokenizer(folder / tok_file, [f"[{lang}]" for lang in langs] if multilingual else [])
    return folder


VOCOS_CONFIG = """\
feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args: {sample_rate: 24000, n_fft: 1024, hop_length: 256, n_mels: 100, padding: center}
backbone:
  class_path: vocos.models.VocosBackbone
  init_args: {input_channels: 100, dim: 64, intermediate_dim: 128, num_layers: 2}
head:
  class_path: vocos.heads.ISTFTHead
  init_args: {dim: 64, n_fft: 1024, hop_length: 256, padding: center}
"""

F5_MODEL_YAML = """\
model:
  name: F5TTS_tiny_test
  tokenizer: custom
  backbone: DiT
  arch: {dim: 64, depth: 2, heads: 2, ff_mult: 2, text_dim: 32, text_mask_padding: True,
         qk_norm: null, conv_layers: 1, pe_attn_head: null, attn_backend: torch,
         attn_mask_enabled: False, checkpoint_activations: False}
  mel_spec: {target_sample_rate: 24000, n_mel_channels: 100, hop_length: 256, win_length: 1024,
             n_fft: 1024, mel_spec_type: vocos}
"""


def build_f5(folder: Path, *, nan: bool = False) -> Path:
    """A random F5-TTS checkpoint folder: model.yaml, model_0.safetensors, vocos/.

    ``nan`` poisons the DiT's output projection, so every render is NaN (for error tests).
    """
    from importlib.resources import files

    import torch
    from f5_tts.model import CFM, DiT
    from f5_tts.model.utils import get_tokenizer
    from omegaconf import OmegaConf
    from vocos import Vocos

    torch.manual_seed(1234)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(F5_MODEL_YAML)
    cfg = OmegaConf.load(str(folder / "model.yaml")).model
    char_map, vocab_size = get_tokenizer(
        str(files("f5_tts").joinpath("infer/examples/vocab.txt")), "custom"
    )
    model = CFM(
        transformer=DiT(**cfg.arch, text_num_embeds=vocab_size, mel_dim=100),
        vocab_char_map=char_map,
    )
    state = {
        f"ema_model.{k}": v for k, v in model.state_dict().items() if not k.startswith("mel_spec.")
    }
    if nan:
        for key, value in state.items():
            if key.startswith("ema_model.transformer.proj_out"):
                state[key] = torch.full_like(value, float("nan"))
    _save(state, folder / "model_0.safetensors")
    voc = folder / "vocos"
    voc.mkdir(exist_ok=True)
    (voc / "config.yaml").write_text(VOCOS_CONFIG)
    torch.save(
        Vocos.from_hparams(str(voc / "config.yaml")).state_dict(), str(voc / "pytorch_model.bin")
    )
    return folder
