"""What one real build leaves besides the audio: job logs, tagged delivery files, the report page.

One module-scoped build (fake engine, a script episode and a subtitle episode, an .ogg and an
.mp3 target) serves every test here.
"""

from __future__ import annotations

import base64
import json
import re
import shutil

import mutagen
import pytest

from tests.conftest import FAKE_CONFIG, FAKE_SCRIPT, ProjectDir

SRT = """\
1
00:00:01,000 --> 00:00:03,000
[alice] <i>A cue</i> with room to spare.

2
00:00:03,500 --> 00:00:06,000
[bob] <b>Bold</b> words &amp; more.
"""

CONFIG = (
    FAKE_CONFIG.replace(
        "{source: scripts/ep1.txt}", '{source: scripts/ep1.txt, title: "The Storm"}'
    )
    + "  ep2: {source: scripts/ep2.srt}\n"
    + "output: {mp3_bitrate_kbps: 48}\n"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> ProjectDir:
    base = tmp_path_factory.mktemp("outputs")
    project = ProjectDir(base / "show", base / "loads.txt")
    project.write("config/config.yaml", CONFIG)
    project.write("scripts/ep1.txt", FAKE_SCRIPT)
    project.write("scripts/ep2.srt", SRT)
    result = project.snakemake("-j1", "out/ep1.ogg", "out/ep1.mp3", "out/ep2.wav")
    assert result.returncode == 0, result.output
    return project


def test_render_log_has_one_line_per_segment(built):
    logs = sorted((built.path / "logs/render").glob("*.log"))
    assert logs
    text = "".join(p.read_text() for p in logs)
    plan = json.loads((built.path / "build/plans/ep1.json").read_text())
    segments = {i["key"]: i for i in plan["items"] if i.get("type") == "segment"}
    for key, item in segments.items():
        line = next((ln for ln in text.splitlines() if f"rendered {key} " in ln), None)
        assert line is not None, text
        assert f"scripts/ep1.txt:{item['line']} {item['speaker']}:" in line
        assert re.search(r": \d+\.\d\d s of audio in \d+\.\d\d s$", line), line


def test_assemble_log_has_the_timing_table_and_mastering(built):
    script = (built.path / "logs/assemble/ep1.log").read_text()
    assert "seg  line chunk speaker" in script  # the table
    assert " narrator " in script and " alice " in script
    assert "mastering: target_lufs -16" in script and "true_peak_dbtp" in script
    cues = (built.path / "logs/assemble/ep2.log").read_text()
    assert "cue      target span   natural" in cues
    assert "mastering:" in cues


def test_encode_log_says_what_was_written(built):
    text = (built.path / "logs/encode/ep1.mp3.log").read_text()
    assert "wrote out/ep1.mp3: MP3 MPEG_LAYER_III, 24000 Hz" in text
    assert "(48 kbit/s), title 'The Storm'" in text or "kbit/s), title 'The Storm'" in text


def test_delivery_files_carry_the_title_and_the_bitrate(built):
    for name in ("ep1.ogg", "ep1.mp3"):
        tags = mutagen.File(str(built.path / "out" / name), easy=True)
        assert tags["title"] == ["The Storm"], name
    assert mutagen.File(str(built.path / "out/ep1.mp3")).info.bitrate == 48000


def test_report_embeds_audio_and_shows_text_without_markup(built, tmp_path):
    page = tmp_path / "artifact" / "report.html"
    result = built.ttsbuild("report", "--embed-audio", "-o", str(page))
    assert result.returncode == 0, result.output
    alone = tmp_path / "alone.html"
    shutil.move(page, alone)  # kept alone, as a CI artifact
    html = alone.read_text()
    sources = re.findall(r'<audio controls preload="none" src="([^"]+)"', html)
    assert len(sources) == 2 and all(s.startswith("data:audio/") for s in sources)
    ogg = base64.b64decode(sources[0].split(",", 1)[1])
    assert sources[0].startswith("data:audio/ogg;base64,")
    assert ogg == (built.path / "out/ep1.ogg").read_bytes()  # the smallest format built
    assert sources[1].startswith("data:audio/wav;base64,")
    assert "<h2>The Storm (ep1)</h2>" in html and "<h2>ep2</h2>" in html
    assert "&lt;i&gt;" not in html and "&lt;b&gt;" not in html and "&amp;amp;" not in html
    assert "<td>A cue with room to spare.</td>" in html
    assert "<td>Bold words &amp; more.</td>" in html
    plain = built.ttsbuild("report", "-o", str(tmp_path / "plain.html"))
    assert plain.returncode == 0
    assert 'src="data:' not in (tmp_path / "plain.html").read_text()


def test_a_new_bitrate_reencodes_without_reassembling(built):
    wav = (built.path / "out/ep1.wav").stat().st_mtime_ns
    built.write(
        "config/config.yaml", CONFIG.replace("mp3_bitrate_kbps: 48", "mp3_bitrate_kbps: 96")
    )
    result = built.snakemake("-j1", "out/ep1.mp3")
    assert result.returncode == 0, result.output
    assert mutagen.File(str(built.path / "out/ep1.mp3")).info.bitrate == 96000
    assert (built.path / "out/ep1.wav").stat().st_mtime_ns == wav
    built.write("config/config.yaml", CONFIG)
