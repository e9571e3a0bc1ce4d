"""How an unreferenced stored segment differs from what its line renders now (for ``gc``):
'pitch_shift 4 vs -3', 'text ... vs ...', so two variants of one line never read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.reports.explain import contrast
from ttsbuild.store.segments import Sidecar, read_sidecar


def current_segments(
    plans: Mapping[str, EpisodePlan], store: Path | None = None
) -> dict[tuple[str, str], Segment]:
    """The segments the project plans now, by line identity (uid), by (speaker, text) and by
    source line. With ``store``, a line is found by its number only if it was rendered at
    that number (it was edited there), not moved there from another line (a line above it
    deleted): a variant is never explained by whichever line now has its number."""
    found: dict[tuple[str, str], Segment] = {}
    for plan in plans.values():
        for seg in plan.segments():
            where = f"{plan.source}:{seg.line}"
            if seg.uid:
                found.setdefault(("uid", f"{plan.source}\x1f{seg.uid}"), seg)
            side = read_sidecar(store, seg.key) if store is not None else None
            if store is None or side is None or side.where == where:
                found.setdefault(("where", where), seg)
            found.setdefault((seg.speaker, seg.text), seg)
    return found


def _chain(effects: Sequence[Mapping[str, Any]]) -> str:
    return (
        "+".join(
            " ".join(
                [
                    str(e["type"]),
                    *(
                        f"{v:g}" if isinstance(v, float) else str(v)
                        for k, v in e.items()
                        if k != "type"
                    ),
                ]
            )
            for e in effects
        )
        or "none"
    )


def _stage_differences(old: Mapping[str, Any], seg: Segment) -> list[str]:
    """How a stored post-stage output differs from the same stage planned now."""
    now = next((o.stage.to_dict() for o in seg.post if o.stage.kind == old.get("kind")), None)
    if now is None:
        return [f"{old.get('kind')} stage no longer planned"]
    before, after = list(old.get("effects") or []), list(now.get("effects") or [])
    if [e["type"] for e in before] == [e["type"] for e in after]:
        return [
            f"{_chain([a])} vs {_chain([b]).split(' ', 1)[-1]}"
            for a, b in zip(before, after)
            if a != b
        ] or ([] if old.get("voice") == now.get("voice") else ["conversion voice"])
    return [f"{old.get('kind')} {_chain(before)} vs {_chain(after)}"]


def variant_of(side: Sidecar, current: dict[tuple[str, str], Segment]) -> str:
    """'; pitch 4 vs -3 now': how an unreferenced segment differs from what its line (or its
    text) renders now, so that two variants of one line do not read the same."""
    source = side.where.rpartition(":")[0]
    now = (
        current.get(("uid", f"{source}\x1f{side.uid}"))  # the line it was rendered for
        or current.get((side.speaker, side.request.text))
        or current.get(("where", side.where))  # edited in place (see current_segments)
    )
    if now is None:
        return "; the line is gone (deleted, or its text edited)"
    diffs = contrast(side.request.identity(), now.request.identity())
    if not diffs and side.stage is not None:
        diffs = _stage_differences(side.stage, now)
    return f"; {', '.join(diffs)} now" if diffs else ""
