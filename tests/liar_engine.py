"""A test engine that makes deliberately wrong renders with the real Piper voice.

``TTSBUILD_LIAR=first``: the first render of each text says other words, later ones (retries
with a new seed) say the right words. ``TTSBUILD_LIAR=always``: every render is wrong;
``TTSBUILD_LIAR=never``: plain Piper.
"""

from __future__ import annotations

import os
from dataclasses import replace

from ttsbuild.core.audio import Audio
from ttsbuild.engines import EngineOptions, RenderRequest
from ttsbuild.engines.piper import PiperEngine, PiperModel

WRONG = "Purple elephants are dancing quietly in the moonlight."


class LiarModel:
    def __init__(self, inner: PiperModel):
        self.inner = inner
        self.seen: set[str] = set()

    def synthesize(self, request: RenderRequest) -> Audio:
        mode = os.environ.get("TTSBUILD_LIAR", "first")
        lie = mode == "always" or (mode == "first" and request.text not in self.seen)
        self.seen.add(request.text)
        return self.inner.synthesize(replace(request, text=WRONG) if lie else request)


class LiarEngine(PiperEngine):
    info = replace(PiperEngine.info, name="liar")

    def load(self, options: EngineOptions) -> LiarModel:
        return LiarModel(super().load(options))
