"""What each engine's managed runtime installs (``ttsbuild runtime create``; docs/engines.md).

Kept apart from the engine modules so the requirements of every engine read as one table. The
CPU variants are what CI runs; the GPU variants leave torch to the package's own pins.
"""

from __future__ import annotations

from .base import RuntimeSpec

#: A managed Chatterbox runtime (shared by the English and multilingual engines). GPU: the
#: package with its own pins (torch 2.6.0, numpy<2). CPU: PyPI's torch 2.6.0 for Linux is a
#: CUDA build (767 MB plus the nvidia-* wheels), so the CPU runtime keeps Chatterbox's numpy<2
#: pin with the CPU torch 2.13.0 wheel, installs the package --no-deps and then what it imports
#: (as .ci/install-engines.sh does).
CHATTERBOX_RUNTIME = RuntimeSpec(
    name="chatterbox",
    package="chatterbox-tts",
    cpu=(
        ("torch==2.13.0", "numpy<2"),
        ("--no-deps", "chatterbox-tts==0.1.7"),
        (
            "torch==2.13.0",
            "numpy<2",
            "s3tokenizer",
            "resemble-perth",
            "conformer==0.3.2",
            "diffusers",
            "librosa",
            "transformers",
            "safetensors",
            "omegaconf",
            "setuptools<81",
            "pykakasi==2.3.0",
        ),
    ),
    gpu=(("chatterbox-tts==0.1.7", "setuptools<81"),),
    probe=("torch", "chatterbox.tts", "chatterbox.mtl_tts"),
)

#: A managed F5-TTS runtime: the CPU torch wheel pinned first so pip never pulls a CUDA build.
F5_RUNTIME = RuntimeSpec(
    name="f5tts",
    package="f5-tts",
    cpu=(("torch==2.13.0", "f5-tts==1.1.22"),),
    gpu=(("f5-tts==1.1.22",),),
    probe=("torch", "f5_tts.api"),
)
