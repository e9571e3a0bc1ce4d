"""Assembly: stored segments + a frozen plan -> episode audio, SRT track and timing report.

One pipeline for every source: a layout (:func:`script_layout` for scripts,
:func:`ttsbuild.assembly.cues.cue_layout` for subtitle cues) places clips on the timeline using
only their cached lengths; :func:`ttsbuild.assembly.writer.master_and_write` then applies one
mastering gain, limits only the clips that would cross the peak ceiling and streams the episode
to disk clip by clip. Memory stays flat in the episode's length for both kinds of source.

Imports: core, config, planning, store, and the other assembly modules.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import partial
from pathlib import Path
from typing import Any

from ttsbuild.assembly.clips import ClipCache, Layout, Piece
from ttsbuild.assembly.cues import cue_layout
from ttsbuild.assembly.srt_out import subtitle_cues
from ttsbuild.assembly.timing import Slot, format_srt, ms_to_samples, place
from ttsbuild.assembly.writer import master_and_write
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio, decode_audio_bytes
from ttsbuild.core.errors import RenderError
from ttsbuild.core.formats import MAX_TIMELINE_SECONDS
from ttsbuild.core.fsutil import write_text_atomic
from ttsbuild.planning.plan import EpisodePlan, Segment, Silence

log = logging.getLogger(__name__)


def script_layout(plan: EpisodePlan, cache: ClipCache, settings: OutputSettings) -> Layout:
    """Segments one after another (gaps between lines, shorter gaps between chunks), pauses
    as silence; one subtitle cue per segment."""
    rate = settings.sample_rate
    slots: list[Slot] = []
    for item in plan.items:
        if isinstance(item, Segment):
            slots.append(Slot("segment", cache.info(item.key).samples, item.line, item.chunk))
        else:
            sound = cache.info(sound_clip(cache, item)).samples if item.sound else 0
            slots.append(Slot("pause", ms_to_samples(item.milliseconds, rate), item.line, 0, sound))
    placements, total = place(
        slots, rate, settings.gap_ms, settings.chunk_gap_ms, settings.padding_ms
    )
    pieces: list[Piece] = []
    cues: list[tuple[int, int, str]] = []
    report_items: list[dict[str, Any]] = []
    sounds: list[dict[str, Any]] = []
    for p in placements:
        seg = plan.items[p.index]
        if isinstance(seg, Silence):  # a scene break's sound
            name = sound_clip(cache, seg)
            pieces.append(Piece(p.start, name, cache.info(name), partial(cache.audio, name)))
            sounds.append(
                {
                    "line": seg.line,
                    "kind": seg.kind,
                    "sound": seg.sound,
                    **_span(p.start, p.end, rate),
                }
            )
            continue
        # mastered under the clip's cache name (the segment file's identity in it: a segment
        # whose bytes changed under its key is mastered again), published by its key
        load = partial(cache.audio, seg.key)
        name = cache.name(seg.key)
        pieces.append(Piece(p.start, name, cache.info(seg.key), load, seg.speaker, seg.key))
        cues.append((p.start, p.end, seg.text))
        report_items.append(
            {
                "index": len(report_items) + 1,
                "line": seg.line,
                "chunk": seg.chunk,
                "speaker": seg.speaker,
                "language": seg.request.language,
                "text": seg.text,
                "key": seg.key,
                "uid": seg.uid,
                **_span(p.start, p.end, rate),
            }
        )
    report = {
        "segments": len(report_items),
        "pauses": sum(1 for s in slots if s.kind == "pause"),
        "breaks": breaks_report(plan, slots, rate),
        "sounds": sounds,
        "mastering": None,  # filled in after writing
        "items": report_items,
    }
    summary = f"{len(report_items)} segments"
    shown = subtitle_cues(
        cues,
        [i["speaker"] for i in report_items],
        settings.srt_max_line_chars,
        settings.srt_max_lines,
        settings.srt_speaker_names,
    )
    return Layout(total, pieces, shown, report, summary)


def _span(start: int, end: int, rate: int) -> dict[str, Any]:
    return {
        "start_sample": start,
        "end_sample": end,
        "start": round(start / rate, 6),
        "end": round(end / rate, 6),
    }


def sound_clip(cache: ClipCache, item: Silence) -> str:
    """The clip of a scene break's sound, named by its content (prepared once, like a
    segment: decoded to mono, resampled, never trimmed)."""
    name = f"sound-{item.sound_hash[:24]}"
    return cache.derive(name, partial(read_sound, item.sound, item.sound_hash, cache.settings))


def read_sound(path: str, sha256: str, settings: OutputSettings) -> Audio:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RenderError(f"{path}: break sound cannot be read ({exc.strerror})") from None
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise RenderError(f"{path}: break sound changed since the plan was made; build again")
    try:
        audio = decode_audio_bytes(raw)
    except Exception as exc:
        raise RenderError(
            f"{path}: break sound cannot be decoded ({str(exc)[:200]}); use WAV, FLAC or OGG"
        ) from None
    return audio.resampled(settings.sample_rate)


def breaks_report(plan: EpisodePlan, slots: list[Slot], rate: int) -> list[dict[str, Any]]:
    """Each scene break as placed: its element, line and length (ms, sound included)."""
    return [
        {
            "line": item.line,
            "kind": item.kind,
            "ms": round(max(slot.samples, slot.sound) * 1000 / rate, 3),
            "sound": item.sound or None,
        }
        for item, slot in zip(plan.items, slots)
        if isinstance(item, Silence) and item.kind
    ]


def episode_layout(
    plan_file: str | Path,
    store: str | Path,
    settings: OutputSettings,
    cache_dir: str | Path | None = None,
) -> tuple[EpisodePlan, ClipCache, Layout]:
    """An episode's plan, its clip cache and its layout (what the episode and its stems
    are written from)."""
    plan = EpisodePlan.from_dict(json.loads(Path(plan_file).read_text("utf-8")))
    cache = ClipCache(Path(store), Path(cache_dir) if cache_dir else None, settings)
    rate = settings.sample_rate
    srt = plan.extra.get("srt")
    layout = (
        cue_layout(plan, srt, cache, settings)
        if srt is not None
        else script_layout(plan, cache, settings)
    )
    if layout.total > MAX_TIMELINE_SECONDS * rate:
        raise RenderError(
            f"{plan.source}: the episode would be {layout.total / rate / 3600:.1f} hours long, "
            f"over the {MAX_TIMELINE_SECONDS // 3600}-hour limit of one episode; split it"
        )
    return plan, cache, layout


def mastered_folder(cache: ClipCache, episode: str) -> Path | None:
    return cache.dir / "mastered" / episode if cache.dir is not None else None


def assemble_episode(
    plan_file: str | Path,
    store: str | Path,
    settings: OutputSettings,
    wav_out: str | Path,
    srt_out: str | Path,
    timing_out: str | Path,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    plan, cache, layout = episode_layout(plan_file, store, settings, cache_dir)
    rate = settings.sample_rate
    srt = plan.extra.get("srt")
    mastered_dir = mastered_folder(cache, plan.episode)
    mastering = master_and_write(wav_out, rate, layout.total, layout.pieces, settings, mastered_dir)
    write_text_atomic(srt_out, format_srt(layout.cues, rate))
    report: dict[str, Any] = {
        "episode": plan.episode,
        "source": plan.source,
        "sample_rate": rate,
        **{k: v for k, v in layout.report.items() if k in ("mode", "timing", "encoding")},
        "duration_samples": layout.total,
        "duration": round(layout.total / rate, 6),
        **{k: v for k, v in layout.report.items() if k not in ("mode", "timing", "encoding")},
    }
    report["mastering"] = mastering
    write_text_atomic(timing_out, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    lufs, peak = mastering["integrated_lufs"], mastering["true_peak_dbtp"]
    log.info(
        "ttsbuild: assembled %s: %s, %.1f s, %s, true peak %s%s",
        plan.episode,
        layout.summary,
        layout.total / rate,
        f"{lufs} LUFS" if lufs is not None else "silent to BS.1770",
        f"{peak} dBTP" if peak is not None else "none (digital silence)",
        layout.details,
    )
    if srt is None:  # the cue table of a subtitle episode is in the line above
        log.debug("ttsbuild: %s timing:\n%s", plan.episode, items_table(report["items"]))
    log.debug(
        "ttsbuild: %s mastering: %s",
        plan.episode,
        ", ".join(f"{k} {v}" for k, v in mastering.items()),
    )
    return report


def items_table(items: list[dict[str, Any]]) -> str:
    """A fixed-width table of a script episode's placements (seconds), for the job log.

    >>> print(items_table([{"index": 1, "line": 2, "chunk": 0, "speaker": "alice",
    ...     "start": 0.25, "end": 1.5, "key": "ab12"}]))
      seg  line chunk speaker         start      end  key
        1     2     0 alice           0.250    1.500  ab12
    """
    lines = [f"{'seg':>5} {'line':>5} {'chunk':>5} {'speaker':<12} {'start':>8} {'end':>8}  key"]
    for item in items:
        lines.append(
            f"{item['index']:5d} {item['line']:5d} {item['chunk']:5d} {item['speaker']:<12} "
            f"{item['start']:8.3f} {item['end']:8.3f}  {item['key']}"
        )
    return "\n".join(lines)
