#!/usr/bin/env bash
# CPU-only install of the heavy engines (Chatterbox + F5-TTS) next to ttsbuild, for CI and for
# machines without a GPU. On a GPU machine use the extras instead: pip install '.[chatterbox]'.
#
# Why not the extras here: chatterbox-tts pins torch==2.6.0 / numpy<2, which cannot resolve next
# to the CPU torch 2.13 wheel, so it is installed --no-deps plus the packages it really imports.
# Every torchaudio wheel on PyPI is a CUDA build; with a CPU torch its compiled extension fails to
# load, so (only when torch is a CPU build) its shared objects are removed and the pure-Python
# parts that the engines use keep working. A GPU install is never touched by that step.
#
# Usage: .ci/install-engines.sh [VENV]   (default: .venv; ttsbuild must already be installed there)
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu selects where the CPU torch wheel comes
# from when no local wheel is configured (pip's find-links).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PIP=("$VENV/bin/pip" install -q)
PY="$VENV/bin/python"

TORCH_ARGS=()
if [[ -n "${TORCH_INDEX_URL:-}" ]]; then TORCH_ARGS=(--extra-index-url "$TORCH_INDEX_URL"); fi

# 1. CPU torch first, pinned, so nothing below can pull a multi-GB CUDA build.
"${PIP[@]}" "${TORCH_ARGS[@]}" "torch==2.13.0"
# 2. F5-TTS with its own (loose) dependencies, torch held at the installed version and
#    packaging kept where snakemake needs it.
"${PIP[@]}" "f5-tts==1.1.22" "torch==2.13.0" "packaging<26"
# 3. Chatterbox without its pins, plus what it imports.
"${PIP[@]}" --no-deps "chatterbox-tts==0.1.7"
#    pykakasi: the multilingual tokenizer's Japanese path. Not spacy-pkuseg (Chinese word
#    segmentation): it downloads its model from GitHub when the multilingual model loads, which
#    fails offline; without it Chatterbox skips Chinese segmentation (see docs/engines.md).
"${PIP[@]}" "torch==2.13.0" "packaging<26" "s3tokenizer" "resemble-perth" "conformer==0.3.2" \
    "diffusers" "librosa" "transformers" "safetensors" "pyloudnorm" "omegaconf" "setuptools<81" \
    "pykakasi==2.3.0"

# 4. CPU torch only: drop torchaudio's CUDA-linked extension (see header).
"$PY" - <<'PY'
import pathlib, torch
if torch.version.cuda is None:
    import importlib.util
    spec = importlib.util.find_spec("torchaudio")
    if spec and spec.origin:
        lib = pathlib.Path(spec.origin).parent / "lib"
        for so in lib.glob("*.so"):
            so.unlink()
            print("removed CUDA-linked", so.name)
PY
"$PY" -c "import torch, f5_tts.api, chatterbox.tts, chatterbox.mtl_tts; print('engines ok, torch', torch.__version__)"
