"""Voice assets, in-process: file names from ids, the change diff, trimming margins, per-file
levels, chunked lines, strict mode and files the build does not own (ttsbuild.delivery)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from ttsbuild.assembly.mastering import to_db, true_peak
from ttsbuild.config.settings import AssetSettings
from ttsbuild.core.audio import Audio, write_audio
from ttsbuild.core.errors import AssetError
from ttsbuild.core.request import RenderRequest, Voice
from ttsbuild.delivery.asset_changes import AssetEntry, asset_stems, diff_assets
from ttsbuild.delivery.assets import build_assets, encode, join_and_trim, record_name
from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.store.segments import segment_path

RATE = 16000


def tone(seconds: float, amp: float = 0.3, lead: float = 0.0, tail: float = 0.0) -> Audio:
    t = np.arange(int(seconds * RATE), dtype=np.float32) / RATE
    body = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    pad = [np.zeros(int(lead * RATE), np.float32), body, np.zeros(int(tail * RATE), np.float32)]
    return Audio(np.concatenate(pad), RATE)


def seg(key: str, uid: str, text: str, line: int, chunk: int = 0, chunks: int = 1) -> Segment:
    req = RenderRequest(text, "fake", "fake==1", "fake-1", "en", Voice("", "v"), (), 7)
    return Segment(key, line, chunk, chunks, "alice", req, None, uid)


class Project:
    """A plan file, a store of segments and an assets folder in a temp dir."""

    def __init__(self, root: Path):
        self.root = root
        self.store = root / "store"
        self.folder = root / "out" / "ep1"

    def plan(self, segments: list[tuple[Segment, Audio]]) -> Path:
        for s, audio in segments:
            write_audio(segment_path(self.store, s.key), audio)
        plan = EpisodePlan("ep1", "ep1.csv", tuple(s for s, _ in segments))
        path = self.root / "plan.json"
        path.write_text(json.dumps(plan.to_dict()))
        return path

    def build(self, segments: list[tuple[Segment, Audio]], **settings: object) -> dict:
        return build_assets(
            self.plan(segments),
            self.store,
            AssetSettings.from_dict(settings),
            150.0,
            self.folder,
            self.root / "out" / "ep1.assets.json",
            self.root / "out" / "ep1.assets-changes.json",
        )

    def manifest(self) -> dict:
        return json.loads((self.root / "out" / "ep1.assets.json").read_text())


LINES = [
    (seg(f"{i:020x}", f"l{i}", f"Line {i}.", i), tone(0.8 + 0.1 * i, amp=0.05 + 0.1 * i))
    for i in range(1, 5)
]


def test_asset_stems_are_ids_or_safe_unique_names():
    stems = asset_stems(["intro_01", "a/b", "a_b", ".hidden", "Bob", "bob"])
    assert stems["intro_01"] == "intro_01"
    assert stems["a_b"] == "a_b"  # a safe id keeps its name...
    assert stems["a/b"].startswith("a_b-") and stems["a/b"] != "a_b"  # ...an unsafe one is hashed
    assert not stems[".hidden"].startswith(".")
    assert stems["Bob"].casefold() != stems["bob"].casefold()  # case-insensitive file systems
    assert asset_stems(["a/b"]) == {"a/b": stems["a/b"]}  # stable: no other id changes it


def entry(uid: str, text: str = "Hi.", **kw: object) -> AssetEntry:
    base = dict(
        id=uid,
        file=f"ep/{uid}.wav",
        character="bob",
        text=text,
        language="en",
        line=1,
        segments=("k",),
        voice={"voice": "v1"},
        params={"speed": 1.0, "seed": 1.0},
        mastering="m",
        fingerprint="f",
    )
    base.update(kw)
    return AssetEntry(**base)  # type: ignore[arg-type]


def test_diff_names_what_changed():
    old = [
        entry("a"),
        entry("b"),
        entry("c"),
        entry("d"),
        entry("e"),
        entry("f"),
        entry("gone"),
    ]
    new = [
        entry("a"),  # unchanged
        entry("b", text="Hello.", params={"speed": 1.0, "seed": 9.0}, fingerprint="g"),
        entry("c", voice={"voice": "v2"}, fingerprint="g"),
        entry("d", params={"speed": 1.2, "seed": 1.0}, fingerprint="g"),
        entry("e", params={"speed": 1.0, "seed": 2.0}, fingerprint="g"),  # explicit seed
        entry("f", mastering="m2", fingerprint="g"),
        entry("new"),
    ]
    d = diff_assets(old, new)
    assert d["added"] == ["new"]
    assert d["removed"] == ["gone"]
    assert d["changed"] == [
        {"id": "b", "what": ["text"]},  # a derived seed follows the text: not a parameter
        {"id": "c", "what": ["voice"]},
        {"id": "d", "what": ["parameters"]},
        {"id": "e", "what": ["parameters"]},
        {"id": "f", "what": ["mastering"]},
    ]
    assert d["unchanged"] == 1
    assert d["summary"].startswith("7 lines changed in this drop: 1 added, 5 changed, 1 removed")
    assert diff_assets(old, old)["changed"] == []
    assert AssetEntry.from_dict(new[1].to_dict()) == new[1]


@pytest.mark.parametrize("margin_ms", [0.0, 50.0, 200.0, 500.0])
@pytest.mark.parametrize("lead,tail", [(0.3, 0.4), (0.0, 0.0), (0.1, 0.0)])
def test_trim_keeps_the_margin_before_onset_and_after_the_end(margin_ms, lead, tail):
    settings = AssetSettings.from_dict({"margin_ms": margin_ms, "sample_rate": 48000})
    audio = join_and_trim([tone(0.5, lead=lead, tail=tail)], settings, 150.0)
    loud = np.flatnonzero(np.abs(audio.samples) > 10 ** (-50 / 20))
    onset_ms = loud[0] / 48
    end_ms = (audio.num_samples - 1 - loud[-1]) / 48
    assert abs(onset_ms - margin_ms) < 3.0
    assert abs(end_ms - margin_ms) < 3.0
    assert join_and_trim([tone(0.5, amp=0.0)], settings, 150.0).num_samples == 0


def test_loudness_target_per_file_and_peak_mode(tmp_path):
    proj = Project(tmp_path)
    proj.build(LINES, loudness_lufs=-20)
    for a in proj.manifest()["assets"]:
        data, rate = sf.read(proj.folder / Path(a["file"]).name, dtype="float32")
        audio = Audio(data, rate)
        assert rate == 48000
        # BS.1770 of the decoded file, with pyloudnorm (independent of ttsbuild's own code)
        measured = pyloudnorm.Meter(rate).integrated_loudness(data.astype(np.float64))
        assert abs(measured + 20) < 0.5
        assert a["levels"]["loudness_lufs"] == pytest.approx(measured, abs=0.01)
        assert to_db(true_peak(audio)) <= -1.0 + 0.01
    proj.build(LINES, normalize="peak", true_peak_dbtp=-3)
    for a in proj.manifest()["assets"]:
        data, rate = sf.read(proj.folder / Path(a["file"]).name, dtype="float32")
        assert abs(to_db(true_peak(Audio(data, rate))) + 3) < 0.2
    changes = json.loads((tmp_path / "out/ep1.assets-changes.json").read_text())
    assert [c["what"] for c in changes["changed"]] == [["mastering"]] * 4


def test_loud_target_is_limited_at_the_ceiling(tmp_path):
    proj = Project(tmp_path)
    proj.build(LINES, loudness_lufs=-5, true_peak_dbtp=-1)
    for a in proj.manifest()["assets"]:
        data, rate = sf.read(proj.folder / Path(a["file"]).name, dtype="float32")
        peak = to_db(true_peak(Audio(data, rate)))
        assert peak <= -1.0 + 0.01  # at or under the ceiling
        assert (
            abs(a["levels"]["loudness_lufs"] + 5) < 0.5
        )  # and at the target: limited, not quieter


def test_a_chunked_line_is_one_asset(tmp_path):
    proj = Project(tmp_path)
    parts = [
        (seg("a" * 20, "long", "First part.", 3, 0, 2), tone(0.6)),
        (seg("b" * 20, "long", "Second part.", 3, 1, 2), tone(0.7)),
    ]
    proj.build(parts, margin_ms=0)
    (asset,) = proj.manifest()["assets"]
    assert asset["segments"] == ["a" * 20, "b" * 20]
    assert asset["text"] == "First part. Second part."
    assert abs(asset["duration"] - (0.6 + 0.15 + 0.7)) < 0.01


def test_unowned_files_are_never_touched(tmp_path):
    proj = Project(tmp_path)
    proj.folder.mkdir(parents=True)
    (proj.folder / "notes.txt").write_text("mine")
    (proj.folder / "l1.wav").write_bytes(b"not the build's")
    with pytest.raises(AssetError, match=r"l1\.wav: exists but is not one of the build's files"):
        proj.build(LINES)
    assert (proj.folder / "l1.wav").read_bytes() == b"not the build's"
    (proj.folder / "l1.wav").unlink()
    proj.build(LINES)
    proj.build(LINES[1:])  # l1 removed: its file goes, notes.txt stays
    assert sorted(p.name for p in proj.folder.iterdir()) == [
        record_name("ep1"),
        "l2.wav",
        "l3.wav",
        "l4.wav",
        "notes.txt",
    ]


def test_strict_mode_fails_on_a_removed_id_and_deletes_nothing(tmp_path):
    proj = Project(tmp_path)
    proj.build(LINES, format="flac")
    before = sorted(p.name for p in proj.folder.iterdir())
    with pytest.raises(AssetError, match=r"strict mode: 1 line id\(s\) removed .*: l2 "):
        proj.build([LINES[0], *LINES[2:]], format="flac", strict=True)
    assert sorted(p.name for p in proj.folder.iterdir()) == before
    changes = json.loads((tmp_path / "out/ep1.assets-changes.json").read_text())
    assert changes["removed"] == ["l2"]


@pytest.mark.parametrize("fmt,suffix", [("ogg-vorbis", ".ogg"), ("opus", ".opus"), ("mp3", ".mp3")])
def test_lossy_formats_decode_and_keep_unchanged_files(tmp_path, fmt, suffix):
    proj = Project(tmp_path)
    proj.build(LINES, format=fmt, bitrate_kbps=96, channels=2)
    stats = {p.name: p.stat().st_mtime_ns for p in proj.folder.glob(f"*{suffix}")}
    assert len(stats) == 4
    for name in stats:
        data, rate = sf.read(proj.folder / name)
        assert data.ndim == 2 and data.shape[1] == 2 and rate == 48000
    changes = proj.build(LINES, format=fmt, bitrate_kbps=96, channels=2)
    assert changes["written"] == [] and changes["unchanged"] == 4
    assert {p.name: p.stat().st_mtime_ns for p in proj.folder.glob(f"*{suffix}")} == stats


def test_a_build_stopped_half_way_still_owns_what_it_wrote(tmp_path, monkeypatch):
    import ttsbuild.delivery.asset_audio as asset_audio

    proj = Project(tmp_path)
    proj.build(LINES[:2])
    real, calls = asset_audio.encode, []

    def failing(audio: Audio, settings: AssetSettings) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the job is killed after writing l3.wav
        return real(audio, settings)

    monkeypatch.setattr(asset_audio, "encode", failing)
    with pytest.raises(KeyboardInterrupt):
        proj.build(LINES)
    assert (proj.folder / "l3.wav").exists() and not (proj.folder / "l4.wav").exists()
    monkeypatch.setattr(asset_audio, "encode", real)
    changes = proj.build(LINES)  # l3.wav is the build's: no "not one of the build's files"
    assert changes["added"] == ["l3", "l4"]
    assert "claimed" not in json.loads((proj.folder / record_name("ep1")).read_text())
    proj.build(LINES[:2])  # and it is deleted when its line goes
    assert sorted(p.name for p in proj.folder.iterdir()) == [record_name("ep1"), "l1.wav", "l2.wav"]


@pytest.mark.parametrize(
    "assets,message",
    [
        ("{format: opus, sample_rate: 44100}", "assets: opus needs 8, 12, 16, 24 or 48 kHz"),
        ('{folder: "out/{name}"}', "assets: folder 'out/{name}': the only placeholder is"),
        ("{format: aiff}", "assets"),
    ],
)
def test_bad_asset_settings_are_one_config_error(make_project, assets, message):
    from tests.conftest import FAKE_CONFIG

    proj = make_project(config=FAKE_CONFIG + f"assets: {assets}\n")
    result = proj.plan_in_process()
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("ttsbuild: error: config/config.yaml:")
    assert message in line


@pytest.mark.parametrize("fmt", ["mp3", "opus"])
@pytest.mark.parametrize("kbps", [64, 128, 256])
def test_bitrate_is_what_was_asked(fmt, kbps):
    rng = np.random.default_rng(0)
    t = np.arange(48000 * 4) / 48000
    noisy = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    audio = Audio(noisy.astype(np.float32), 48000)
    data = encode(audio, AssetSettings.from_dict({"format": fmt, "bitrate_kbps": kbps}))
    measured = len(data) * 8 / 4 / 1000
    assert abs(measured - kbps) / kbps < 0.15, measured


def test_an_unmeasurable_line_is_peak_normalized_with_a_warning(tmp_path):
    proj = Project(tmp_path)
    quiet = (seg("c" * 20, "whisper", "Shh.", 9), tone(0.8, amp=0.0002))  # about -80 LUFS
    changes = proj.build([LINES[0], quiet], true_peak_dbtp=-2, trim_db=-100)
    assert changes["warnings"] == [
        {"id": "whisper", "warning": "peak (loudness under the -70 LUFS gate: not measurable)"}
    ]
    (_, asset) = proj.manifest()["assets"]
    assert abs(asset["levels"]["true_peak_dbtp"] + 2) < 0.1


def test_a_silent_line_is_an_empty_file_with_a_warning(tmp_path):
    proj = Project(tmp_path)
    silent = (seg("d" * 20, "mute", "...", 9), tone(0.8, amp=0.0))
    changes = proj.build([LINES[0], silent])
    assert {"id": "mute", "warning": "silent after trimming: an empty file"} in changes["warnings"]
    data, _ = sf.read(proj.folder / "mute.wav")
    assert data.size == 0


def test_a_kept_file_gives_the_same_warnings_as_when_it_was_made(tmp_path):
    """A rebuild that keeps a file (same fingerprint and bytes) still says what is wrong with
    it: silent, peak-normalized instead of loudness, off its loudness target."""
    proj = Project(tmp_path)
    quiet = (seg("c" * 20, "whisper", "Shh.", 9), tone(0.8, amp=0.0002))
    silent = (seg("d" * 20, "mute", "...", 10), tone(0.8, amp=0.0))
    lines = [LINES[0], LINES[1], quiet, silent]
    first = proj.build(lines, loudness_lufs=0, trim_db=-100)
    ids = {w["id"] for w in first["warnings"]}
    assert {"l1", "l2", "whisper", "mute"} <= ids, first["warnings"]  # l1, l2: off target 0
    mtimes = {p.name: p.stat().st_mtime_ns for p in proj.folder.iterdir()}
    again = proj.build(lines, loudness_lufs=0, trim_db=-100)
    assert again["warnings"] == first["warnings"]
    assert {p.name: p.stat().st_mtime_ns for p in proj.folder.iterdir()} == mtimes  # all kept


def test_a_file_the_encoder_trimmed_says_so_not_that_it_needed_12_db_of_limiting():
    """attack-c: Ren'Py lines in Ogg came out 0.5 LU under target with 'would need more than
    12 dB of limiting' although they had 7.5 dB of gain: the Vorbis encoder's overshoot was
    taken off with a gain. The warning names the real cause and the trim."""
    from ttsbuild.delivery.asset_audio import _off_target

    settings = AssetSettings.from_dict({"format": "ogg-vorbis"})
    levels = {
        "normalization": "loudness",
        "gain_db": 7.55,
        "limited": True,
        "loudness_lufs": -18.54,
        "true_peak_dbtp": -1.32,
        "encoder_gain_db": -0.56,
    }
    msg = _off_target(levels, settings)
    assert "12 dB" not in msg
    assert "ogg-vorbis encoder" in msg and "-0.56 dB" in msg
    plain = {
        "normalization": "loudness",
        "gain_db": 19.0,
        "limited": True,
        "loudness_lufs": -21.0,
        "true_peak_dbtp": -1.0,
    }
    assert "more than 12 dB of limiting" in _off_target(plain, settings)
    near = {**levels, "loudness_lufs": -18.3}
    assert _off_target(near, settings) == ""  # within 0.5 LU: no warning


def test_encode_line_reports_the_gain_it_took_off_a_lossy_overshoot():
    from ttsbuild.delivery.asset_audio import encode_line

    rate = 48000
    t = np.arange(rate) / rate
    square = np.sign(np.sin(2 * np.pi * 997 * t)).astype(np.float32) * 10 ** (-1.0 / 20)
    settings = AssetSettings.from_dict({"format": "ogg-vorbis", "sample_rate": rate})
    _, measured = encode_line(Audio(square, rate), settings)
    assert measured["encoder_gain_db"] < 0  # the square's overshoot in Vorbis is trimmed
    assert measured["true_peak_dbtp"] <= -1.0 + 0.01
    _, wav = encode_line(Audio(square * 0.5, rate), AssetSettings.from_dict({"sample_rate": rate}))
    assert "encoder_gain_db" not in wav
