"""assembly/: one pipeline for scripts and subtitle cues, in-process on a synthetic store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysrt
import soundfile as sf

from ttsbuild.assembly.assemble import assemble_episode
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core.audio import Audio, write_audio
from ttsbuild.core.request import RenderRequest, Voice
from ttsbuild.planning.key import segment_key
from ttsbuild.planning.plan import EpisodePlan, Segment, Silence
from ttsbuild.store.segments import segment_path

RATE = 24000


def _segment(store: Path, text: str, line: int, seconds: float, cue: int | None = None) -> Segment:
    request = RenderRequest(text, "fake", "1", "m", "en", Voice("", "v"), (), line)
    key = segment_key(request)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = (0.3 * np.sin(2 * np.pi * (220 + 40 * line) * t)).astype(np.float32)
    write_audio(segment_path(store, key), Audio(tone, RATE))
    return Segment(key, line, 0, 1, "narrator", request, cue)


def _assemble(tmp: Path, plan: EpisodePlan, cache: bool = True, tag: str = "") -> dict:
    plan_file = tmp / f"plan{tag}.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    out = tmp / f"out{tag}"
    out.mkdir(exist_ok=True)
    return assemble_episode(
        plan_file,
        tmp / "store",
        OutputSettings.from_dict({"loudness_lufs": None}),
        out / "ep.wav",
        out / "ep.srt",
        out / "ep.timing.json",
        tmp / "clips" if cache else None,
    )


def test_script_layout_places_lines_with_gaps_and_pauses(tmp_path):
    store = tmp_path / "store"
    a, b = _segment(store, "One.", 1, 1.0), _segment(store, "Two.", 3, 0.5)
    c = _segment(store, "Three.", 4, 0.25)
    plan = EpisodePlan("ep", "ep.txt", (a, Silence(2, 1000.0), b, c))
    report = _assemble(tmp_path, plan)
    settings = OutputSettings.from_dict({})
    first, second, third = report["items"]
    assert first["start_sample"] == round(settings.padding_ms * RATE / 1000)
    assert first["end_sample"] - first["start_sample"] == RATE
    assert second["start_sample"] - first["end_sample"] == RATE  # a pause replaces the gap
    assert third["start_sample"] - second["end_sample"] == round(settings.gap_ms * RATE / 1000)
    data, rate = sf.read(tmp_path / "out/ep.wav", dtype="float32")
    assert rate == RATE and len(data) == report["duration_samples"]
    subs = pysrt.open(str(tmp_path / "out/ep.srt"))
    assert [s.text for s in subs] == ["One.", "Two.", "Three."]


def test_subtitle_cues_use_the_same_writer_and_cached_clips(tmp_path):
    store = tmp_path / "store"
    segs = [_segment(store, f"Cue {i}.", i + 1, 0.4 + 0.1 * i, cue=i + 1) for i in range(4)]
    cues = [
        {
            "cue": i + 1,
            "number": i + 1,
            "line": 4 * i,
            "start_ms": 1000 * i,
            "end_ms": 1000 * i + 900,
            "display": f"Cue {i}.",
            "descriptions": [],
        }
        for i in range(4)
    ]
    srt = {"encoding": "utf-8", "timing": {"mode": "pad_with_silence"}, "cues": cues}
    plan = EpisodePlan("ep", "ep.srt", tuple(segs), {"srt": srt})
    cached = _assemble(tmp_path, plan)
    # cue clips are derived clips of the clip cache, on disk, not held in memory
    assert len(list((tmp_path / "clips").rglob("cue-*.f32"))) == 4
    uncached = _assemble(tmp_path, plan, cache=False, tag="2")
    assert (tmp_path / "out/ep.wav").read_bytes() == (tmp_path / "out2/ep.wav").read_bytes()
    assert cached["cues"] == uncached["cues"]
    # pad_with_silence: every cue starts exactly at its time
    subs = pysrt.open(str(tmp_path / "out/ep.srt"))
    assert [s.start.ordinal for s in subs] == [1000 * i for i in range(4)]
