"""A visual build report: ``out/report.html``, one self-contained page for a project.

Per episode: an audio player, a timeline picture (one lane per character; each line's audio
where it really is; for subtitle episodes the cue's target time above it; flagged segments in
red) and the timing table. Made from the files a build writes; renders nothing.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttsbuild.core.fsutil import write_text_atomic
from ttsbuild.sources.subtitles import strip_formatting

PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f"]
FLAG_COLOR = "#d62728"
BAD_FLAGS = {
    "truncated",
    "dropped",
    "late",
    "beyond_max_stretch",
    "overlap",
    "qa_flagged",
    "failed",
}
WIDTH, LANE, TOP, LEFT = 1200, 34, 28, 110


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def episode_rows(root: Path, episode: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(timing report, one row per spoken item with speaker, times, target and flags)."""
    timing = _load(root / "out" / f"{episode}.timing.json") or {}
    report = _load(root / "out" / f"{episode}.report.json") or {}
    plan = _load(root / "build" / "plans" / f"{episode}.json") or {"items": []}
    qa_flagged = {f["key"] for f in report.get("qa", {}).get("flagged", [])}
    rows: list[dict[str, Any]] = []
    if "cues" in timing:  # subtitle episode
        speakers: dict[int, str] = {}
        keys: dict[int, list[str]] = {}
        for item in plan["items"]:
            if item.get("type") == "segment" and item.get("cue") is not None:
                speakers.setdefault(item["cue"], item["speaker"])
                keys.setdefault(item["cue"], []).append(item["key"])
        for cue in timing["cues"]:
            if not cue.get("natural_samples"):
                continue
            flags = list(cue.get("flags", []))
            if qa_flagged & set(keys.get(cue["cue"], [])):
                flags.append("qa_flagged")
            final = cue["final"]
            rows.append(
                {
                    "speaker": speakers.get(cue["cue"], "?"),
                    "start": final["start"],
                    "end": final.get("audio_end_sample", final["end_sample"])
                    / timing["sample_rate"],
                    "target": (cue["target"]["start"], cue["target"]["end"]),
                    "text": strip_formatting(cue.get("text", "")),
                    "flags": flags,
                    "label": f"cue {cue['number']}",
                }
            )
    else:
        for item in timing.get("items", []):
            flags = ["qa_flagged"] if item["key"] in qa_flagged else []
            rows.append(
                {
                    "speaker": item["speaker"],
                    "start": item["start"],
                    "end": item["end"],
                    "target": None,
                    "text": item["text"],
                    "flags": flags,
                    "label": f"line {item['line']}",
                }
            )
    return timing, rows


def timeline_svg(rows: list[dict[str, Any]], duration: float) -> str:
    lanes = list(dict.fromkeys(r["speaker"] for r in rows))
    height = TOP + LANE * max(1, len(lanes)) + 10
    span = max(duration, 1e-6)

    def x(t: float) -> float:
        return LEFT + (WIDTH - LEFT - 10) * t / span

    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    step = next(s for s in (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 1e9) if span / s <= 12)
    t = 0.0
    while t <= span:
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{TOP - 6}" x2="{x(t):.1f}" y2="{height - 6}" '
            'stroke="#e5e5e5"/>'
        )
        parts.append(
            f'<text x="{x(t):.1f}" y="{TOP - 10}" font-size="10" fill="#555">'
            f"{int(t // 60)}:{int(t % 60):02d}</text>"
        )
        t += step
    for lane, name in enumerate(lanes):
        y = TOP + lane * LANE
        parts.append(
            f'<text x="6" y="{y + LANE / 2 + 4:.1f}" font-size="12" fill="#222">'
            f"{html.escape(name)}</text>"
        )
    for r in rows:
        lane = lanes.index(r["speaker"])
        y = TOP + lane * LANE
        color = PALETTE[lane % len(PALETTE)]
        bad = bool(BAD_FLAGS & set(r["flags"]))
        if r["target"] is not None:
            t0, t1 = r["target"]
            parts.append(
                f'<rect class="target" x="{x(t0):.1f}" y="{y + 3}" '
                f'width="{max(1.0, x(t1) - x(t0)):.1f}" height="6" fill="none" '
                f'stroke="{color}" stroke-width="1"/>'
            )
        title = html.escape(f"{r['label']}: {r['text']} {' '.join(r['flags'])}")
        parts.append(
            f'<rect class="clip{" flagged" if bad else ""}" x="{x(r["start"]):.1f}" '
            f'y="{y + 11}" width="{max(1.0, x(r["end"]) - x(r["start"])):.1f}" '
            f'height="{LANE - 16}" fill="{FLAG_COLOR if bad else color}">'
            f"<title>{title}</title></rect>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


#: Formats a self-contained page embeds, smallest first, with their MIME types.
EMBED_ORDER = (
    (".ogg", "audio/ogg"),
    (".mp3", "audio/mpeg"),
    (".flac", "audio/flac"),
    (".wav", "audio/wav"),
)


def audio_source(root: Path, episode: str, output: Path, embed: bool) -> str:
    """The ``src`` of an episode's player: a path relative to the page, or with ``embed`` the
    smallest delivery file the build wrote (.ogg, .mp3, .flac, else .wav) as a data URI, so
    that the page plays when kept alone (a CI artifact)."""
    wav = root / "out" / f"{episode}.wav"
    if not embed:
        return os.path.relpath(wav, output.parent)
    for suffix, mime in EMBED_ORDER:
        path = wav.with_suffix(suffix)
        if path.is_file():
            return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    return os.path.relpath(wav, output.parent)


def render_report(
    root: Path,
    episodes: list[str],
    output: Path,
    titles: Mapping[str, str] | None = None,
    embed_audio: bool = False,
) -> Path:
    """Write the page; ``titles`` (episode name to its ``title:``) head the sections."""
    sections = []
    for name in episodes:
        title = (titles or {}).get(name, name)
        heading = html.escape(title if title == name else f"{title} ({name})")
        timing, rows = episode_rows(root, name)
        if not timing:
            sections.append(f"<section><h2>{heading}</h2><p>Not built yet.</p></section>")
            continue
        audio = audio_source(root, name, output, embed_audio)
        table = "\n".join(
            "<tr{cls}><td>{label}</td><td>{speaker}</td><td>{start:.3f}</td><td>{end:.3f}</td>"
            "<td>{target}</td><td>{flags}</td><td>{text}</td></tr>".format(
                cls=' class="flagged"' if BAD_FLAGS & set(r["flags"]) else "",
                label=html.escape(r["label"]),
                speaker=html.escape(r["speaker"]),
                start=r["start"],
                end=r["end"],
                target="" if r["target"] is None else f"{r['target'][0]:.3f}-{r['target'][1]:.3f}",
                flags=html.escape(", ".join(r["flags"])),
                text=html.escape(r["text"]),
            )
            for r in rows
        )
        mastering = timing.get("mastering", {})
        sections.append(f"""<section id="{html.escape(name)}">
<h2>{heading}</h2>
<p>{len(rows)} spoken items, {timing.get("duration", 0):.1f} s{", mode " + html.escape(timing["mode"]) if "mode" in timing else ""};
loudness {mastering.get("integrated_lufs")} LUFS, true peak {mastering.get("true_peak_dbtp")} dBTP.</p>
<audio controls preload="none" src="{html.escape(audio)}"></audio>
{timeline_svg(rows, float(timing.get("duration", 0)))}
<table><thead><tr><th>item</th><th>speaker</th><th>start s</th><th>end s</th><th>target s</th><th>flags</th><th>text</th></tr></thead>
<tbody>
{table}
</tbody></table>
</section>""")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ttsbuild report</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; font-size: 12px; margin-top: 12px; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
tr.flagged td {{ background: #fde0e0; }}
svg.timeline {{ display: block; margin: 12px 0; border: 1px solid #ccc; }}
</style></head>
<body><h1>ttsbuild report</h1>
{"".join(sections)}
</body></html>
"""
    write_text_atomic(output, page)
    return output
