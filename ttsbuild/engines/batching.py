"""Inference batches: which requests may share a forward pass, in what order, and what to do
when a batch does not fit in memory.

Pure over requests (no torch import): the render job plans its batches with
:func:`plan_batches` and runs each with :func:`synthesize_split`, which calls the model's
``synthesize_batch`` when it has one (:class:`~ttsbuild.engines.base.BatchModel`) and falls
back to one request at a time otherwise. A batch that runs out of accelerator memory is split
in halves and retried, down to single requests; since a request's result never depends on the
others in its batch, the split changes speed, not sound.

>>> from ttsbuild.engines.base import EngineInfo
>>> info = EngineInfo("x", 16000, None, False, False, max_batch=4)
>>> effective_batch_size(info, 8), effective_batch_size(info, 2)
(4, 2)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ttsbuild.core.audio import Audio
from ttsbuild.core.request import RenderRequest
from ttsbuild.engines.base import BatchModel, EngineInfo, Model

log = logging.getLogger(__name__)

T = TypeVar("T")


def effective_batch_size(info: EngineInfo, configured: int) -> int:
    """The configured ``engines.<name>.batch_size``, capped by what the engine can batch."""
    return max(1, min(int(configured), int(info.max_batch)))


def batch_key(request: RenderRequest, info: EngineInfo) -> tuple[Any, ...]:
    """Requests with equal keys may share an inference batch (``EngineInfo.batch_shared``)."""
    key: list[Any] = [request.engine, request.model]
    for name in info.batch_shared:
        if name == "language":
            key.append(request.language)
        elif name == "voice":
            key.append(request.voice.content_hash)
        else:
            key.append((name, request.param(name, float("nan"))))
    return tuple(key)


def plan_batches(
    items: Sequence[T],
    request_of: Callable[[T], RenderRequest],
    info_of: Callable[[RenderRequest], EngineInfo],
    size_of: Callable[[RenderRequest], int],
) -> list[list[T]]:
    """Group ``items`` into inference batches.

    Compatible requests (same :func:`batch_key`) are sorted by text length, so a batch pads
    little, and cut into batches of the engine's effective size. The composition depends only on
    the set of requests, not on their order: ties are broken by text and seed.

    >>> from ttsbuild.engines.base import EngineInfo, RenderRequest, Voice
    >>> info = EngineInfo("x", 16000, None, False, False, max_batch=2)
    >>> r = lambda t: RenderRequest(t, "x", "1", "m", "en", Voice("", "v"), (), 0)
    >>> [[q.text for q in b] for b in plan_batches([r("ccc"), r("a"), r("bb")], lambda q: q,
    ...                                             lambda q: info, lambda q: 2)]
    [['a', 'bb'], ['ccc']]
    """
    groups: dict[tuple[Any, ...], list[T]] = {}
    for item in items:
        request = request_of(item)
        groups.setdefault(batch_key(request, info_of(request)), []).append(item)
    batches: list[list[T]] = []
    for key in sorted(groups, key=repr):
        members = sorted(
            groups[key],
            key=lambda it: (len(request_of(it).text), request_of(it).text, request_of(it).seed),
        )
        request = request_of(members[0])
        size = effective_batch_size(info_of(request), size_of(request))
        batches.extend(members[i : i + size] for i in range(0, len(members), size))
    return batches


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's ``OutOfMemoryError`` (CUDA, MPS) or a ``RuntimeError`` that says so."""
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and "out of memory" in str(exc).lower()


def _free_accelerator_memory() -> None:
    torch = sys.modules.get("torch")  # never import torch here: a Piper build has none
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def synthesize_many(model: Model, requests: Sequence[RenderRequest]) -> list[Audio]:
    """One forward pass for all ``requests`` if the model batches, else one at a time."""
    if len(requests) > 1 and isinstance(model, BatchModel):
        audios = model.synthesize_batch(requests)
        if len(audios) != len(requests):
            raise RuntimeError(
                f"synthesize_batch returned {len(audios)} results for {len(requests)} requests"
            )
        return audios
    return [model.synthesize(r) for r in requests]


def synthesize_split(model: Model, requests: Sequence[RenderRequest]) -> list[Audio]:
    """:func:`synthesize_many`, splitting a batch that runs out of memory into halves.

    A single request that runs out of memory raises as it would unbatched.
    """
    try:
        return synthesize_many(model, requests)
    except Exception as exc:
        if len(requests) < 2 or not is_out_of_memory(exc):
            raise
        half = len(requests) // 2
        log.warning(
            "ttsbuild: a batch of %d ran out of memory (%s); retrying as %d + %d",
            len(requests),
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            half,
            len(requests) - half,
        )
    # out of the except block: the failed batch's tensors (held by the traceback) are free
    _free_accelerator_memory()
    return synthesize_split(model, requests[:half]) + synthesize_split(model, requests[half:])
