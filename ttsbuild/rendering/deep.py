"""``verify --deep``: derive stored outputs again from their inputs and compare the bytes.

A key promises one content (docs/architecture.md, "One key, one content"). That holds only if
every stage is a deterministic function of its input on this machine: the engine for a
synthesis output (its request, with the seed the render used), the effects chain or the voice
converter for a post-stage output (the stored bytes of its input key). This module re-runs the
stage the way a build does (:func:`~ttsbuild.store.segments.stored_form`: the same encoding)
and names every engine or stage whose output differs.

Imports: core, config, engines (through rendering.render), store.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ttsbuild.config.settings import EngineOptions
from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.core.request import PostStage
from ttsbuild.rendering.render import apply_stage, synthesize
from ttsbuild.store.segments import Sidecar, get_segment, read_sidecar, segment_path, stored_form

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rederived:
    """One stored output derived again: who made it, and whether the bytes matched."""

    key: str
    what: str  # "engine 'piper'", "effects stage", "convert stage ('chatterbox-vc')"
    where: str
    identical: bool
    detail: str = ""  # how it differs, or why it was skipped
    skipped: bool = False


@dataclass
class DeepReport:
    results: list[Rederived] = field(default_factory=list)

    @property
    def checked(self) -> list[Rederived]:
        return [r for r in self.results if not r.skipped]

    def nondeterministic(self) -> dict[str, list[Rederived]]:
        """Each engine or stage with an output that differs, with those outputs."""
        found: dict[str, list[Rederived]] = {}
        for r in self.checked:
            if not r.identical:
                found.setdefault(r.what, []).append(r)
        return found


def maker(side: Sidecar) -> str:
    """The engine or stage that made a stored output, as ``verify --deep`` names it."""
    if side.stage is None:
        return f"engine '{side.request.engine}'"
    kind = str(side.stage.get("kind"))
    engine = side.stage.get("engine")
    return f"{kind} stage ('{engine}')" if engine else f"{kind} stage"


def choose(keys: Iterable[str], sample: int | None, rng: random.Random) -> list[str]:
    """All ``keys`` (sorted), or a random sample of ``sample`` of them."""
    ordered = sorted(keys)
    if sample is None or sample >= len(ordered):
        return ordered
    return sorted(rng.sample(ordered, sample))


def _difference(stored: Audio, again: Audio) -> str:
    a, b = stored.samples, again.samples
    if a.shape != b.shape:
        return f"{b.size} samples derived again, {a.size} stored"
    lsb = np.abs(a.astype(np.float64) - b.astype(np.float64)) * (1 << 23)
    return f"{int(np.count_nonzero(lsb))} of {a.size} samples differ, up to {lsb.max():.0f} LSB"


def rederive(
    store: Path,
    key: str,
    engine_options: Mapping[str, EngineOptions],
    runtimes: Mapping[str, object] | None = None,
    corrupt: AbstractSet[str] = frozenset(),
) -> Rederived:
    """Derive stored output ``key`` again from its input and compare the bytes (a post
    stage whose input is in ``corrupt`` is skipped: its difference would say nothing)."""
    side = read_sidecar(store, key)
    if side is None:
        return Rederived(key, "?", "?", True, "no sidecar: its inputs are unknown", True)
    what = maker(side)
    skip = _skip_reason(store, side, runtimes or {}, corrupt)
    if skip:
        return Rederived(key, what, side.where, True, skip, True)
    try:
        if side.stage is None:
            seed = (side.qa or {}).get("seed", side.request.seed)  # QA may have retried
            request = replace(side.request, seed=int(seed))
            options = engine_options.get(request.engine) or EngineOptions.from_dict({})
            audio = synthesize(request, options, side.where)
        else:
            stage = PostStage.from_dict(side.stage)
            audio = apply_stage(stage, get_segment(store, str(side.stage["input"])), engine_options)
    except TTSBuildError as exc:
        return Rederived(key, what, side.where, True, f"could not be derived again: {exc}", True)
    data, again = stored_form(audio)
    if data == segment_path(store, key).read_bytes():
        return Rederived(key, what, side.where, True)
    return Rederived(key, what, side.where, False, _difference(get_segment(store, key), again))


def _skip_reason(
    store: Path, side: Sidecar, runtimes: Mapping[str, object], corrupt: AbstractSet[str]
) -> str:
    if side.stage is not None:
        source = side.stage.get("input")
        if not isinstance(source, str) or not segment_path(store, source).exists():
            return "its input is not stored (removed by gc or verify --delete)"
        if source in corrupt:
            return f"its input {source} is corrupt"
        engine = side.stage.get("engine") or ""
    else:
        engine = side.request.engine
    if engine in runtimes:
        return f"'{engine}' renders in its own runtime; not derived again in this process"
    return ""


def deep_verify(
    store: Path,
    keys: Iterable[str],
    engine_options: Mapping[str, EngineOptions],
    runtimes: Mapping[str, object] | None = None,
    corrupt: AbstractSet[str] = frozenset(),
) -> DeepReport:
    """Derive every stored output in ``keys`` again (synthesis first, so each model loads
    once) and compare bytes with what the store holds."""
    report = DeepReport()
    for key in keys:
        result = rederive(store, key, engine_options, runtimes, corrupt)
        log.info(
            "ttsbuild: verify --deep %s %s: %s",
            key,
            result.what,
            "skipped" if result.skipped else "identical" if result.identical else result.detail,
        )
        report.results.append(result)
    return report
