"""How an unreferenced stored segment differs from what its line renders now (for ``gc``):
'pitch_shift 4 vs -3', 'text ... vs ...', so two variants of one line never read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.reports.explain import contrast
from ttsbuild.store.segments import Sidecar


def current_segments(plans: Mapping[str, EpisodePlan]) -> dict[tuple[str, str], Segment]:
    """The segments the project plans now, by source line and by (speaker, text)."""
    found: dict[tuple[str, str], Segment] = {}
    for plan in plans.values():
        for seg in plan.segments():
            found.setdefault(("where", f"{plan.source}:{seg.line}"), seg)
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
    now = current.get((side.speaker, side.request.text)) or current.get(("where", side.where))
    if now is None:
        return "; the line is gone"
    diffs = contrast(side.request.identity(), now.request.identity())
    if not diffs and side.stage is not None:
        diffs = _stage_differences(side.stage, now)
    return f"; {', '.join(diffs)} now" if diffs else ""
