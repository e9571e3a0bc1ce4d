"""Why a segment will render: compare a planned request with the sidecars in the store.

Every rendered segment has a sidecar (``<key>.json``) holding the request it was rendered from
and where in which script it came from. A planned segment that is missing from the store is
explained by the closest earlier render of the same line or the same text: what differs
between the two requests is what made a new key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.store.segments import Sidecar, read_sidecar, segment_path, sidecar_keys, sidecar_path


@dataclass(frozen=True)
class Explanation:
    segment: Segment
    where: str
    stored: bool
    reasons: tuple[str, ...] = ()


def _short(text: str, width: int = 50) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_LABELS = {
    "engine": "engine",
    "engine_version": "engine version",
    "model": "model",
    "language": "language",
}


def request_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed between two requests' identities (:meth:`RenderRequest.identity`), the
    same form the segment key hashes.

    >>> a = {"text": "Hi.", "engine": "fake", "params": [["speed", 1.0]], "seed": 1}
    >>> request_differences(a, dict(a, params=[["speed", 1.2]], seed=2))
    ['changed parameter speed: 1 -> 1.2', 'changed seed: 1 -> 2']
    """
    out: list[str] = []
    if old.get("text") != new.get("text"):
        out.append(f"changed text (was: {_short(str(old.get('text', '')))!r})")
    for field, label in _LABELS.items():
        if old.get(field) != new.get(field):
            out.append(f"changed {label}: {old.get(field)} -> {new.get(field)}")
    if old.get("voice") != new.get("voice"):
        out.append("changed voice (the reference's content differs)")
    if old.get("reference_text") != new.get("reference_text"):
        out.append("changed voice reference text")
    old_params = {str(k): v for k, v in old.get("params") or []}
    new_params = {str(k): v for k, v in new.get("params") or []}
    for name in sorted(set(old_params) | set(new_params)):
        if old_params.get(name) != new_params.get(name):
            before = _fmt(old_params[name]) if name in old_params else "unset"
            after = _fmt(new_params[name]) if name in new_params else "unset"
            out.append(f"changed parameter {name}: {before} -> {after}")
    # A seed the script does not give is derived from the text, engine, model, language and
    # voice: when one of those changed, a new seed follows and is not a reason of its own.
    derived_from = (
        "changed text",
        "changed engine",
        "changed model",
        "changed language",
        "changed voice (",
    )
    if old.get("seed") != new.get("seed") and not any(o.startswith(derived_from) for o in out):
        out.append(f"changed seed: {old.get('seed')} -> {new.get('seed')}")
    return out


def _chain_form(effects: Sequence[Mapping[str, Any]]) -> str:
    return "+".join(str(e.get("type")) for e in effects) or "none"


def _voice_hash(voice: Any) -> Any:
    return voice.get("content_hash") if isinstance(voice, Mapping) else voice


def stage_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed between two post stages' forms (:meth:`PostStage.to_dict`).

    >>> a = {"kind": "effects", "version": "1", "effects": [{"type": "gain", "gain_db": 1.0}]}
    >>> stage_differences(a, dict(a, effects=[{"type": "gain", "gain_db": 2.0}]))
    ['changed effect gain gain_db: 1 -> 2']
    """
    out: list[str] = []
    if old.get("version") != new.get("version") or old.get("engine") != new.get("engine"):
        out.append(
            f"changed {new.get('kind')} stage: {old.get('engine') or 'ttsbuild'} "
            f"{old.get('version')} -> {new.get('engine') or 'ttsbuild'} {new.get('version')}"
        )
    old_fx, new_fx = list(old.get("effects") or []), list(new.get("effects") or [])
    if [e.get("type") for e in old_fx] != [e.get("type") for e in new_fx]:
        out.append(f"changed effect chain: {_chain_form(old_fx)} -> {_chain_form(new_fx)}")
    else:
        for before, after in zip(old_fx, new_fx):
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    out.append(
                        f"changed effect {after.get('type')} {name}: "
                        f"{_fmt(before.get(name))} -> {_fmt(after.get(name))}"
                    )
    if _voice_hash(old.get("voice")) != _voice_hash(new.get("voice")):
        out.append("changed conversion target voice (the reference clip's content differs)")
    return out


class SidecarIndex:
    """The store's sidecars, indexed by source line and by (speaker, text). Loaded lazily."""

    def __init__(self, store: Path):
        self.store = store
        self._loaded = False
        self.by_where: dict[str, list[Sidecar]] = defaultdict(list)
        self.by_text: dict[tuple[str, str], list[Sidecar]] = defaultdict(list)
        self.by_input: dict[tuple[str, str], list[Sidecar]] = defaultdict(list)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for key in sorted(sidecar_keys(self.store)):
            side = read_sidecar(self.store, key)
            if side is None:
                continue
            if not segment_path(self.store, key).exists():
                continue  # its audio is gone: not an earlier render any more
            if side.stage is not None:
                stage_input = (str(side.stage.get("input")), str(side.stage.get("kind")))
                self.by_input[stage_input].append(side)
                continue
            self.by_where[side.where].append(side)
            self.by_text[(side.speaker, side.request.text)].append(side)

    def stage_candidates(self, input_key: str, kind: str) -> list[Sidecar]:
        """Earlier outputs of a post stage of this kind on the same input."""
        self._load()
        return list(self.by_input.get((input_key, kind), ()))

    def candidates(self, where: str, speaker: str, text: str) -> list[Sidecar]:
        self._load()
        seen: set[str] = set()
        out: list[Sidecar] = []
        for side in (*self.by_text.get((speaker, text), ()), *self.by_where.get(where, ())):
            if side.key not in seen:
                seen.add(side.key)
                out.append(side)
        return out


def explain_stage(seg: Segment, position: int, store: Path, index: SidecarIndex) -> list[str]:
    """Why post stage ``position`` (1 = the first after synthesis) of ``seg`` will run."""
    chain = seg.chain()
    before, (kind, _) = chain[position - 1], chain[position]
    head = f"{before[0]} output stored ({before[1]}), reused: only the {kind} stage"
    later = [k for k, _ in chain[position + 1 :]]
    head += f" and after it {', '.join(later)} will run" if later else " will run"
    new = seg.post[position - 1].stage.to_dict()
    best: list[str] | None = None
    for old in index.stage_candidates(before[1], kind):
        diffs = stage_differences(old.stage or {}, new)
        if best is None or len(diffs) < len(best):
            best = diffs or ["ttsbuild's render pipeline changed (same stage, new key)"]
    if best is None:
        best = [f"new: no earlier {kind} output of this {before[0]} output"]
    return [head, *best]


def explain_segment(
    seg: Segment,
    where: str,
    store: Path,
    index: SidecarIndex,
    planned: frozenset[str] = frozenset(),
) -> Explanation:
    """Why ``seg`` is stored or will render. ``planned`` holds the keys of the whole plan: an
    earlier render at the same line whose key the plan still uses elsewhere is the line that
    used to have this number (a line was inserted above it), not an earlier form of this one."""
    if segment_path(store, seg.key).exists():
        return Explanation(seg, where, True)
    chain = seg.chain()
    stored = [i for i, (_, key) in enumerate(chain) if segment_path(store, key).exists()]
    if stored:
        return Explanation(
            seg, where, False, tuple(explain_stage(seg, stored[-1] + 1, store, index))
        )
    synthesis = chain[0][1]
    if sidecar_path(store, synthesis).exists():
        return Explanation(
            seg,
            where,
            False,
            (
                (
                    "rendered before, but its audio is gone (removed by verify or gc, or the "
                    "build was killed between the sidecar and the audio)"
                ),
            ),
        )
    new = seg.request.identity()
    best: list[str] | None = None
    best_where = ""
    for old in index.candidates(where, seg.speaker, seg.text):
        if old.key in planned and old.request.text != seg.text:
            continue  # that line moved down, it was not edited into this one
        diffs = request_differences(old.request.identity(), new)
        if old.speaker != seg.speaker:
            diffs.insert(0, f"changed speaker: {old.speaker} -> {seg.speaker}")
        if not diffs:
            diffs = ["ttsbuild's render pipeline changed (same request, new key)"]
        if best is None or len(diffs) < len(best):
            best, best_where = diffs, old.where
    if best is None:
        return Explanation(seg, where, False, ("new line: no earlier render of this line or text",))
    if any(d.startswith("changed text") for d in best) and seg.lexicon:
        best.append("the text went through " + "; ".join(seg.lexicon))
    if best_where and best_where != where:
        best = [*best, f"compared with the render from {best_where}"]
    return Explanation(seg, where, False, tuple(best))


def explain_plan(plan: EpisodePlan, store: Path, index: SidecarIndex) -> list[Explanation]:
    """One explanation per distinct segment of ``plan``, in order."""
    planned = frozenset(key for seg in plan.segments() for _, key in seg.chain())
    return [
        explain_segment(seg, f"{plan.source}:{seg.line}", store, index, planned)
        for seg in plan.segments()
    ]


def deleted_lines(plan: EpisodePlan, index: SidecarIndex) -> list[Sidecar]:
    """Lines rendered for this episode's source that it no longer has: one stored render per
    line identity (uid; for older sidecars, speaker and text), in line order. A render of a
    line that is still there (another variant of it) is not one."""
    index._load()
    prefix = plan.source + ":"
    segments = plan.segments()
    keys = {k for seg in segments for _, k in seg.chain()}
    uids = {seg.uid for seg in segments if seg.uid}
    texts = {(seg.speaker, seg.text) for seg in segments}
    gone: dict[str, Sidecar] = {}
    for where, sides in index.by_where.items():
        if not where.startswith(prefix):
            continue
        for side in sides:
            if side.key in keys or (side.speaker, side.request.text) in texts:
                continue
            if side.uid and side.uid in uids:
                continue
            gone.setdefault(side.uid or f"{side.speaker}\x1f{side.request.text}", side)

    def line(side: Sidecar) -> int:
        tail = side.where.rpartition(":")[2]
        return int(tail) if tail.isdigit() else 0

    return sorted(gone.values(), key=lambda side: (line(side), side.key))


def summary(explanations: Sequence[Explanation]) -> tuple[int, int]:
    """(stored, to render)."""
    stored = sum(1 for e in explanations if e.stored)
    return stored, len(explanations) - stored


def contrast(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What tells two requests' identities apart, ``a``'s value first (``gc`` shows it for
    variants of a line, which otherwise read the same).

    >>> a = {"text": "Hi.", "params": [["pitch", 4.0]], "seed": 1}
    >>> contrast(a, dict(a, params=[["pitch", -3.0]]))
    ['pitch 4 vs -3']
    """
    out: list[str] = []
    if a.get("text") != b.get("text"):
        out.append(
            f"text {_short(str(a.get('text', '')), 30)!r} vs {_short(str(b.get('text', '')), 30)!r}"
        )
    for field, label in _LABELS.items():
        if a.get(field) != b.get(field):
            out.append(f"{label} {a.get(field)} vs {b.get(field)}")
    if a.get("voice") != b.get("voice"):
        out.append("another voice")
    if a.get("reference_text") != b.get("reference_text"):
        out.append("another voice reference text")
    seed_follows = bool(out)  # a derived seed changes with the text, engine, model or voice
    a_params = {str(k): v for k, v in a.get("params") or []}
    b_params = {str(k): v for k, v in b.get("params") or []}
    for name in sorted(set(a_params) | set(b_params)):
        if a_params.get(name) != b_params.get(name):
            before = _fmt(a_params[name]) if name in a_params else "unset"
            after = _fmt(b_params[name]) if name in b_params else "unset"
            out.append(f"{name} {before} vs {after}")
    if a.get("seed") != b.get("seed") and not seed_follows:
        out.append(f"seed {a.get('seed')} vs {b.get('seed')}")
    return out
