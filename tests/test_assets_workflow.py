"""Voice assets through real Snakemake builds: a dialogue table to one mastered file per line,
then an edit, an insert and a delete that touch exactly those files (issue 14's done-when)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from tests.conftest import rendered_count
from ttsbuild.assembly.mastering import to_db, true_peak
from ttsbuild.core.audio import Audio

CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {params: {speed: 1.1}}
  bob: {params: {brightness: 0.8}}
assets: {loudness_lufs: -20, true_peak_dbtp: -1}
episodes:
  ep1: {source: scripts/ep1.csv}
"""

ROWS = [
    ("intro_01", "Alice", "Good morning, Bob, did you sleep well?"),
    ("intro_02", "Bob", "Not at all, the neighbours were loud."),
    ("intro_03", "Alice", "Again? That is the third night in a row."),
    ("intro_04", "Bob", "I am going to have a word with them."),
    ("quest_01", "Alice", "Before you do, take this letter to the mayor."),
    ("quest_02", "Bob", "The mayor? He never reads his letters."),
    ("quest_03", "Alice", "This one he will read, trust me."),
    ("quest_04", "Narrator", "Bob takes the letter and leaves the house."),
    ("town_01", "Bob", "Excuse me, is the mayor in today?"),
    ("town_02", "Narrator", "The clerk points to a closed door."),
    ("town_03", "Bob", "Thank you, I will wait here."),
    ("line:5837f2", "Bob", "Mister Mayor, a letter from Alice."),
]


def table(rows: list[tuple[str, str, str]]) -> str:
    return "id,character,text\n" + "".join(f'{i},{c},"{t}"\n' for i, c, t in rows)


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_assets_from_a_table_then_only_changed_lines_touched(make_project):
    proj = make_project(config=CONFIG, script="")
    proj.write("scripts/ep1.csv", table(ROWS))
    first = proj.snakemake("-j1", "out/ep1.assets.json", "out/ep1.wav")
    assert first.returncode == 0, first.output
    assert rendered_count(first) == 12  # the episode and the assets share every segment
    out = proj.path / "out"
    manifest = json.loads((out / "ep1.assets.json").read_text())
    assets = manifest["assets"]
    assert [a["id"] for a in assets] == [r[0] for r in ROWS]
    assert [a["file"] for a in assets[:2]] == ["ep1/intro_01.wav", "ep1/intro_02.wav"]
    assert assets[-1]["file"].startswith("ep1/line_5837f2-")
    for a, (uid, who, text) in zip(assets, ROWS, strict=True):
        assert (a["character"], a["text"], a["language"]) == (who.lower(), text, "en")
        data, rate = sf.read(out / a["file"], dtype="float32")
        audio = Audio(data, rate)
        assert rate == 48000 and abs(a["duration"] - audio.duration) < 1e-3
        measured = pyloudnorm.Meter(rate).integrated_loudness(data.astype(np.float64))
        assert abs(measured + 20) < 0.5, uid  # BS.1770 of the decoded file, pyloudnorm
        assert a["levels"]["loudness_lufs"] == pytest.approx(measured, abs=0.01)
        assert to_db(true_peak(audio)) <= -1.0 + 0.01
        lead = np.flatnonzero(np.abs(data) > 10 ** (-50 / 20))[0] / rate
        assert abs(lead - 0.05) < 0.005  # speech onset at the 50 ms margin
    (out / "ep1" / "README.txt").write_text("not the build's")  # someone else's file
    before = files(out / "ep1")

    rows = list(ROWS)
    rows[2] = ("intro_03", "Alice", "Again? That is the fourth night in a row.")  # edit
    rows.insert(6, ("quest_02b", "Bob", "Fine, fine, I will take it."))  # insert
    del rows[9]  # delete town_01
    proj.write("scripts/ep1.csv", table(rows))
    second = proj.snakemake("-j1", "out/ep1.assets.json", "out/ep1.wav")
    assert second.returncode == 0, second.output
    assert rendered_count(second) == 2
    after = files(out / "ep1")
    changes = json.loads((out / "ep1.assets-changes.json").read_text())
    assert changes["added"] == ["quest_02b"]
    assert changes["changed"] == [{"id": "intro_03", "what": ["text"]}]
    assert changes["removed"] == ["town_01"]
    assert changes["written"] == ["intro_03", "quest_02b"]
    assert changes["deleted"] == ["town_01.wav"]
    assert changes["summary"].startswith("3 lines changed in this drop")
    report = json.loads((out / "ep1.report.json").read_text())
    assert report["assets"]["summary"] == changes["summary"]  # the build report says it too
    assert set(after) - set(before) == {"quest_02b.wav"}
    assert set(before) - set(after) == {"town_01.wav"}
    assert after["intro_03.wav"][0] != before["intro_03.wav"][0]
    untouched = set(before) - {"intro_03.wav", "town_01.wav", ".ttsbuild-assets.ep1.json"}
    assert len(untouched) == 11  # ten lines' files and README.txt
    for name in untouched:
        assert after[name] == before[name], name  # same bytes and same mtime
    assert [a["id"] for a in json.loads((out / "ep1.assets.json").read_text())["assets"]] == [
        r[0] for r in rows
    ]

    del rows[0]  # strict mode: a removed id fails the build and deletes nothing
    proj.write("scripts/ep1.csv", table(rows))
    strict = proj.snakemake("-j1", "out/ep1.assets.json", TTSBUILD_ASSETS_STRICT="1")
    assert strict.returncode != 0
    assert "strict mode: 1 line id(s) removed since the last build: intro_01" in strict.output
    assert (out / "ep1" / "intro_01.wav").exists()

    # A changed asset setting re-runs the rule (nothing re-rendered): every file re-encoded
    # under its new name, the old files deleted, the unowned one kept.
    proj.write("config/config.yaml", CONFIG.replace("true_peak_dbtp: -1", "format: flac"))
    flac = proj.snakemake("-j1", "out/ep1.assets.json")
    assert flac.returncode == 0, flac.output
    assert rendered_count(flac) == 0
    changes = json.loads((out / "ep1.assets-changes.json").read_text())
    assert changes["removed"] == ["intro_01"]
    assert {tuple(c["what"]) for c in changes["changed"]} == {("mastering", "file")}
    assert len(changes["changed"]) == len(rows)
    names = sorted(p.name for p in (out / "ep1").iterdir())
    assert names == sorted(
        [".ttsbuild-assets.ep1.json", "README.txt"]
        + [
            Path(a["file"]).name
            for a in json.loads((out / "ep1.assets.json").read_text())["assets"]
        ]
    )
    assert all(
        n.endswith(".flac") for n in names if n not in (".ttsbuild-assets.ep1.json", "README.txt")
    )
