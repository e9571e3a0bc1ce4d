"""assembly/writer: per-clip mastering at a quantized gain, cached as PCM, written by copying;
a WAV too long for RIFF's 32-bit sizes is written as RF64 (issue 18, finding 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

from ttsbuild.assembly import writer
from ttsbuild.assembly.assemble import assemble_episode
from ttsbuild.assembly.mastering import target_check, true_peak
from ttsbuild.assembly.writer import GAIN_STEP_DB, quantize_db, to_pcm
from ttsbuild.config.settings import OutputSettings
from ttsbuild.core import formats
from ttsbuild.core.audio import Audio, write_audio
from ttsbuild.core.request import RenderRequest, Voice
from ttsbuild.planning.key import segment_key
from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.store.segments import segment_path

RATE = 16000


def _segment(store: Path, i: int, text: str, hot: bool) -> Segment:
    request = RenderRequest(text, "fake", "1", "m", "en", Voice("", "v"), (), i)
    key = segment_key(request)
    path = segment_path(store, key)
    if not path.exists():
        rng = np.random.default_rng(i)
        t = np.arange(int((0.8 + 0.05 * (i % 7)) * RATE)) / RATE
        sig = 0.1 * np.sin(2 * np.pi * (180 + 13 * i) * t) * (0.7 + 0.3 * rng.random(t.size))
        if hot:  # a short loud burst: a high peak that hardly moves the loudness
            sig[2000:2160] *= 9.5
        write_audio(path, Audio(np.clip(sig, -1, 1).astype(np.float32), RATE))
    return Segment(key, i + 1, 0, 1, "narrator", request)


def _plan(store: Path, n: int, edited: int | None = None) -> EpisodePlan:
    items = tuple(
        _segment(store, i, f"Line {i}." + (" Edited." if i == edited else ""), hot=i % 5 == 0)
        for i in range(n)
    )
    return EpisodePlan("ep", "ep.txt", items)


def _build(tmp: Path, store: Path, plan: EpisodePlan, clips: Path, out: str) -> dict:
    plan_file = tmp / f"{out}.plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    folder = tmp / out
    folder.mkdir(exist_ok=True)
    settings = OutputSettings.from_dict({"sample_rate": RATE, "loudness_lufs": -16})
    return assemble_episode(
        plan_file, store, settings, folder / "ep.wav", folder / "ep.srt", folder / "ep.json", clips
    )


def _mastered(clips: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in clips.rglob("mastered/ep/*.pcm")}


def test_incremental_build_equals_a_clean_build_and_touches_only_the_edit(tmp_path):
    store = tmp_path / "store"
    first = _build(tmp_path, store, _plan(store, 40), tmp_path / "clips", "a")
    assert first["mastering"]["limited_clips"] > 0  # the limiter path is exercised
    before = _mastered(tmp_path / "clips")
    edited = _build(tmp_path, store, _plan(store, 40, edited=17), tmp_path / "clips", "b")
    clean = _build(tmp_path, store, _plan(store, 40, edited=17), tmp_path / "fresh", "c")
    assert (tmp_path / "b/ep.wav").read_bytes() == (tmp_path / "c/ep.wav").read_bytes()
    assert (
        edited["mastering"]["gain_db"]
        == first["mastering"]["gain_db"]
        == clean["mastering"]["gain_db"]
    )
    after = _mastered(tmp_path / "clips")
    kept = {name for name in before if after.get(name) == before[name]}
    assert len(before) == 40 and len(after) == 40  # pruned to one mastered copy of the episode
    assert len(kept) == 39  # every other clip's mastered bytes untouched (same file, same mtime)


def test_mastering_on_several_threads_gives_the_same_bytes_as_on_one(tmp_path, monkeypatch):
    """The limiting passes run over the cores (core/parallel.py thread_map): the episode,
    its report and every cached mastered clip are the same bytes with 1 thread as with 4."""
    from ttsbuild.core import parallel

    store = tmp_path / "store"
    runs = {}
    for threads in (1, 4):
        monkeypatch.setattr(parallel, "usable_cpus", lambda n=threads: n)
        clips = tmp_path / f"clips{threads}"
        report = _build(tmp_path, store, _plan(store, 40), clips, f"t{threads}")
        assert report["mastering"]["limited_clips"] > 0  # the threaded path is exercised
        cached = {p.name: p.read_bytes() for p in sorted(clips.rglob("mastered/ep/*"))}
        runs[threads] = ((tmp_path / f"t{threads}/ep.wav").read_bytes(), report, cached)
    assert runs[1] == runs[4]


def test_a_mastered_clip_altered_on_disk_is_mastered_again_not_copied(tmp_path):
    """The mastered-clip cache is checked, not trusted by its length: a flipped byte in one
    cached clip (same size) never reaches the episode (before: the episode rebuilt after
    ``out/`` was removed held the flipped byte, and ``verify`` saw nothing)."""
    store = tmp_path / "store"
    _build(tmp_path, store, _plan(store, 12), tmp_path / "clips", "a")
    victim = sorted((tmp_path / "clips").rglob("mastered/ep/*.pcm"))[3]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x40
    victim.write_bytes(bytes(data))
    _build(tmp_path, store, _plan(store, 12), tmp_path / "clips", "b")
    assert (tmp_path / "b/ep.wav").read_bytes() == (tmp_path / "a/ep.wav").read_bytes()
    assert victim.read_bytes() != bytes(data)  # written again, sound


def test_a_prepared_clip_altered_on_disk_is_prepared_again_not_used(tmp_path):
    """The prepared-clip cache (``.f32``) is sealed like the mastered one: a flipped byte in a
    prepared clip (same size) never reaches the episode when its mastered copy is gone."""
    import shutil

    store = tmp_path / "store"
    _build(tmp_path, store, _plan(store, 12), tmp_path / "clips", "a")
    victim = sorted((tmp_path / "clips").rglob("*.f32"))[3]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x40
    victim.write_bytes(bytes(data))
    for mastered in (tmp_path / "clips").rglob("mastered"):
        shutil.rmtree(mastered)  # assembly must master from the prepared clips again
    _build(tmp_path, store, _plan(store, 12), tmp_path / "clips", "b")
    assert (tmp_path / "b/ep.wav").read_bytes() == (tmp_path / "a/ep.wav").read_bytes()
    assert victim.read_bytes() != bytes(data)  # prepared again from the stored segment


def test_loudness_and_true_peak_meet_the_targets(tmp_path):
    store = tmp_path / "store"
    report = _build(tmp_path, store, _plan(store, 40), tmp_path / "clips", "a")
    data, rate = sf.read(tmp_path / "a/ep.wav", dtype="float64")
    measured = pyloudnorm.Meter(rate).integrated_loudness(data)
    assert abs(measured - -16) <= 0.5
    assert 20 * np.log10(true_peak(Audio(data.astype(np.float32), rate))) <= -1.0 + 0.05
    assert report["mastering"]["gain_db"] % GAIN_STEP_DB == 0


def test_quantized_gain_and_pcm_conversion():
    assert quantize_db(-4.26) == -4.5 and quantize_db(-4.24) == -4.0
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=np.float32)
    ints = np.frombuffer(to_pcm(samples, 2), dtype="<i2")
    assert ints.tolist() == [0, 16384, -16384, 32767, -32767, 32767]
    three = to_pcm(samples, 3)
    assert len(three) == 18 and three[3:6] == (4194304).to_bytes(3, "little")


# ---------------------------------------------------------------- long episodes (RF64)


def _pieces(rate: int):
    return [(rate, lambda: Audio(np.full(rate, 0.25, dtype=np.float32), rate))]


def test_long_wav_is_written_as_rf64_with_every_sample(tmp_path, monkeypatch):
    rate, total = 8000, 8000 * 5
    monkeypatch.setattr(formats, "WAV_MAX_SAMPLES", 8000 * 4)  # "4 GiB" scaled down
    path = tmp_path / "long.wav"
    writer._write_any(path, rate, total, _pieces(rate))
    assert path.read_bytes()[:4] == b"RF64"
    info = sf.info(str(path))
    assert info.format == "RF64" and info.frames == total
    data, _ = sf.read(str(path), dtype="float32")
    assert np.allclose(data[rate : 2 * rate], 0.25, atol=1e-4) and not data[2 * rate :].any()


def test_short_wav_stays_plain_riff(tmp_path):
    path = tmp_path / "short.wav"
    writer._write_any(path, 8000, 8000 * 3, _pieces(8000))
    assert path.read_bytes()[:4] == b"RIFF"
    assert sf.info(str(path)).frames == 8000 * 3


def test_threshold_is_where_riff_sizes_overflow():
    bytes_per_sample = 2  # PCM_16
    assert (formats.WAV_MAX_SAMPLES + 1) * bytes_per_sample + 1024 > 0xFFFFFFFF
    assert formats.output_format(formats.Path("e.wav"), 24000, 24000 * 3600 * 24)[0] == "WAV"
    assert formats.output_format(formats.Path("e.wav"), 24000, 24000 * 3600 * 25)[0] == "RF64"
    assert formats.output_format(formats.Path("e.flac"), 48000, 48000 * 3600 * 25)[0] == "FLAC"


def test_a_target_the_ceiling_cannot_allow_is_reported_not_missed_quietly(tmp_path, caplog):
    """-3 LUFS under a -1 dBTP ceiling: the limiter holds the episode down; the build says by
    how much, in the log and in the timing report's mastering section (before: nothing)."""
    store = tmp_path / "store"
    plan = _plan(store, 12)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    settings = OutputSettings.from_dict({"sample_rate": RATE, "loudness_lufs": -3})
    with caplog.at_level("WARNING"):
        report = assemble_episode(
            plan_file,
            store,
            settings,
            tmp_path / "ep.wav",
            tmp_path / "ep.srt",
            tmp_path / "t.json",
        )
    mastering = report["mastering"]
    missed = mastering["target_missed_lu"]
    assert missed is not None and missed < -0.5
    # the limiter's correction adds at most 12 dB (writer.MAX_CORRECTION_DB) to the gain that
    # would reach the target unlimited; before the cap it went on to 196.5 dB here (-9.88 LUFS)
    unlimited = -3 - mastering["measured_lufs_before"]
    assert mastering["gain_db"] <= unlimited + 12.0 + GAIN_STEP_DB / 2, mastering
    assert missed > -6.5
    assert "below the target -3 LUFS" in caplog.text and "true-peak ceiling" in caplog.text
    normal = _build(tmp_path, store, plan, tmp_path / "clips", "ok")
    assert normal["mastering"]["target_missed_lu"] is None  # -16: met, nothing said
    assert normal["mastering"]["target_met"] is True and mastering["target_met"] is False


def test_a_segment_whose_bytes_change_under_its_key_is_mastered_again(tmp_path):
    """A non-deterministic engine rendering again after ``verify --delete``, or another
    machine's store: new bytes under a key. The episode must be what a clean build of that
    store gives, not the mastered copy of the old bytes (before: the old bytes, kept by key)."""
    store = tmp_path / "store"
    plan = _plan(store, 12)
    _build(tmp_path, store, plan, tmp_path / "clips", "a")
    seg = plan.segments()[3]
    path = segment_path(store, seg.key)
    old = sf.read(str(path), dtype="float32")[0]
    path.unlink()
    write_audio(path, Audio(-old, RATE))  # same length, other bytes
    again = _build(tmp_path, store, plan, tmp_path / "clips", "b")
    clean = _build(tmp_path, store, plan, tmp_path / "fresh", "c")
    assert (tmp_path / "b/ep.wav").read_bytes() != (tmp_path / "a/ep.wav").read_bytes()
    assert (tmp_path / "b/ep.wav").read_bytes() == (tmp_path / "c/ep.wav").read_bytes()
    assert again["mastering"] == clean["mastering"]


def _levels_plan(store: Path, amplitudes: list[float]) -> EpisodePlan:
    """Tone segments at the given amplitudes (0: digital silence)."""
    items = []
    for i, amp in enumerate(amplitudes):
        request = RenderRequest(f"Level {i} {amp}.", "fake", "1", "m", "en", Voice("", "v"), (), i)
        key = segment_key(request)
        t = np.arange(int(1.2 * RATE)) / RATE
        sig = amp * np.sin(2 * np.pi * (200 + 20 * i) * t)
        write_audio(segment_path(store, key), Audio(sig.astype(np.float32), RATE))
        items.append(Segment(key, i + 1, 0, 1, "narrator", request))
    return EpisodePlan("ep", "ep.txt", tuple(items))


def _assemble(tmp: Path, store: Path, plan: EpisodePlan, output: dict, out: str) -> dict:
    plan_file = tmp / f"{out}.plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    settings = OutputSettings.from_dict({"sample_rate": RATE, **output})
    return assemble_episode(
        plan_file, store, settings, tmp / f"{out}.wav", tmp / f"{out}.srt", tmp / f"{out}.json"
    )["mastering"]


def test_a_silent_episode_and_a_target_near_the_gate_are_met_or_reported_with_their_cause(
    tmp_path, caplog
):
    """Found by adversarial passes: an episode silent to BS.1770 (speech turned 60 dB down)
    passed with target_missed_lu null and no word; a -69 LUFS target, missed upward because
    quiet blocks fall under the -70 LUFS gate, was blamed on the true-peak ceiling; -65 and
    -68, reachable with more attenuation, were missed (the gain was corrected for limiting
    only)."""
    store = tmp_path / "store"
    with caplog.at_level("WARNING"):
        silent = _assemble(tmp_path, store, _levels_plan(store, [1e-6] * 4), {}, "silent")
    assert silent["target_met"] is False and silent["target_missed_lu"] is None
    assert "is silent to BS.1770" in caplog.text
    caplog.clear()
    wide = [0.5, 0.0005, 0.2, 0.001, 0.05, 0.0003, 0.3, 0.002]  # 60 dB of level spread
    for target in (-16, -65, -68, -69):
        with caplog.at_level("WARNING"):
            met = _assemble(
                tmp_path, store, _levels_plan(store, wide), {"loudness_lufs": target}, f"t{-target}"
            )
        assert met["target_met"] is True and met["target_missed_lu"] is None, (target, met)
        assert abs(met["integrated_lufs"] - target) <= 0.5 and "warning" not in caplog.text
    none = _assemble(tmp_path, store, _levels_plan(store, wide), {"loudness_lufs": None}, "n")
    assert none["target_met"] is None
    # what the search cannot reach upward is said to be the gate, not the ceiling
    settings = OutputSettings.from_dict({"sample_rate": RATE, "loudness_lufs": -69})
    blocks = [np.full(10, 10 ** ((-67.0 + 0.691) / 10))]  # -67 LUFS, nothing limited
    with caplog.at_level("WARNING"):
        verdict = target_check(Path("ep.wav"), blocks, 0, -50.0, settings)
    assert verdict == {"target_met": False, "target_missed_lu": 2.0}
    assert "2.00 LU above the target -69 LUFS" in caplog.text and "gate" in caplog.text
    assert "ceiling" not in caplog.text
