"""SRT reading (encodings, line endings, loose syntax, errors) and cue text cleaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttsbuild.core.errors import SubtitleError
from ttsbuild.sources.decode import decode_source
from ttsbuild.sources.subtitles import (
    classify_bracket,
    cue_text,
    parse_srt,
    parse_timing,
    read_subtitles,
    strip_formatting,
    subtitle_script,
)

DATA = Path(__file__).parent / "data" / "srt"
NAMES = {"narrator", "alice", "bob", "al"}


def cues(name: str, encoding: str | None = None):
    return read_subtitles(DATA / name, name, encoding).cues


@pytest.mark.parametrize(
    "name,encoding",
    [
        ("bom_utf8.srt", "utf-8"),
        ("utf16le_bom.srt", "utf-16-le"),
        ("utf16be_bom.srt", "utf-16-be"),
        ("utf32le_bom.srt", "utf-32-le"),
        ("utf32be_bom.srt", "utf-32-be"),
    ],
)
def test_boms_pick_the_encoding(name, encoding):
    subs = read_subtitles(DATA / name, name)
    assert subs.encoding == encoding
    assert [c.lines for c in subs.cues] == [("Café crème, señor?",), ("Ça va très bien, merci.",)]
    assert subs.cues[0].start_ms == 1000 and subs.cues[1].end_ms == 4500


def test_legacy_code_pages_are_detected():
    fr = read_subtitles(DATA / "cp1252.srt", "cp1252.srt")
    assert fr.cues[1].lines == ("Ma sœur a déjà préparé le café et les crêpes.",)
    assert "«Très bien»" in fr.cues[3].raw_text
    cz = read_subtitles(DATA / "cp1250.srt", "cp1250.srt")
    assert cz.cues[0].lines == ("Příliš žluťoučký kůň úpěl ďábelské ódy.",)
    assert cz.cues[3].lines == ("Łódź jest pięknym miastem, ale Kraków też.",)


def test_explicit_encoding_overrides_detection():
    # Read as cp1250, the cp1252 file's "é" (0xe9) stays "é" but "œ" (0x9c) becomes "ś".
    forced = cues("cp1252.srt", "cp1250")
    assert "ś" in forced[1].raw_text and "œ" not in forced[1].raw_text
    with pytest.raises(SubtitleError, match=r"x\.srt:2: not valid utf-8"):
        decode_source(b"1\n\xe9\n", "x.srt", SubtitleError, "utf-8")


@pytest.mark.parametrize("name", ["crlf.srt", "cr_only.srt"])
def test_line_endings(name):
    got = cues(name)
    assert [c.lines for c in got] == [
        ("First line.",),
        ("Second line,", "two rows."),
        ("Third line.",),
    ]
    assert [c.line for c in got] == [2, 6, 11]


def test_missing_indices_and_text_after_a_blank_line():
    got = cues("no_index.srt")
    assert [c.number for c in got] == [None, None, 3]
    assert got[1].lines == ("Still none,", "and a line after a blank one.")
    assert [(c.start_ms, c.end_ms) for c in got] == [(1000, 2000), (2500, 4000), (4500, 6000)]


def test_unordered_cues_are_sorted_by_start():
    got = cues("unordered.srt")
    assert [c.lines[0] for c in got] == ["First in time.", "Second in time.", "Third in time."]
    assert [c.index for c in got] == [1, 2, 3]
    assert [c.line for c in got] == [6, 10, 2]  # each still knows where it is in the file


def test_loose_timestamps():
    got = cues("loose_times.srt")
    assert [(c.start_ms, c.end_ms) for c in got] == [
        (1000, 2000),
        (3500, 4250),
        (5000, 6000),
        (7250, 8125),
    ]
    assert parse_timing("00:00:01,000 --> 00:00:02,000") == (1000, 2000)
    assert parse_timing("00:61:01,000 --> 00:62:02,000") is None
    assert parse_timing("Hello") is None


def test_no_blank_lines_and_no_final_newline():
    got = cues("no_final_blank.srt")
    assert [c.lines for c in got] == [
        ("No blank line follows.",),
        ("Nor here.",),
        ("And the file just ends.",),
    ]


def test_overlapping_and_zero_length_cues_are_read():
    got = cues("overlap_zero.srt")
    assert [(c.start_ms, c.end_ms) for c in got] == [
        (1000, 4000),
        (2000, 3000),
        (5000, 5000),
        (8000, 9000),
        (8000, 9000),
    ]
    assert got[3].lines[0].startswith("Two cues") and got[4].lines[0].startswith("The second")


@pytest.mark.parametrize(
    "name,message",
    [
        (
            "bad_timing.srt",
            r"bad_timing\.srt:6: cue 2: bad timing line '00:00:03,000 --> 00:00:0x,000'",
        ),
        ("bad_number.srt", r"bad_number\.srt:9: cue 3: the cue number is not followed by a timing"),
        ("text_first.srt", r"text_first\.srt:1: expected a cue number or a timing line"),
        ("empty.srt", r"empty\.srt: no subtitle cues found"),
        (
            "ends_before_start.srt",
            r"ends_before_start\.srt:6: cue 2: ends \(00:00:06,000\) before it starts "
            r"\(00:00:07,000\); fix the timing line",
        ),
        ("missing.srt", r"missing\.srt: subtitle file not found"),
    ],
)
def test_errors_name_file_cue_and_line(name, message):
    with pytest.raises(SubtitleError, match=message) as info:
        cues(name)
    assert "\n" not in str(info.value)


def test_formatting_is_removed_before_speaking():
    assert strip_formatting("{\\an8}<i>Hi</i> <b>there</b>") == "Hi there"
    assert strip_formatting('<font face="Arial" color=#fff>Tom &amp; Jerry&nbsp;&lt;3</font>') == (
        "Tom & Jerry <3"
    )
    assert strip_formatting("One\\NTwo\u00a0three\u202ffour") == "One Two three four"
    assert strip_formatting("a < b and c > d") == "a < b and c > d"  # not a tag


def test_bracket_rule():
    for tag in ("Alice", "al", "ALICE|speed:0.9", "de:Bob", "de:", "pause:1s", "narrator"):
        assert classify_bracket(tag, NAMES) == "tag", tag
    for description in ("door slams", "Carol", "LAUGHS", "de:Carol", "music: upbeat", ""):
        assert classify_bracket(description, NAMES) == "description", description


def test_cue_text_descriptions_music_and_dashes():
    lines = ("- [Alice] ♪ Hello [door slams] there! ♪", "- (laughs) [Bob] Hi [unbalanced")
    skipped = cue_text(lines, NAMES, skip_descriptions=True)
    assert skipped.script == "[Alice] Hello there! [Bob] Hi unbalanced"
    assert skipped.descriptions == ("door slams", "laughs")
    assert skipped.display == "- ♪ Hello [door slams] there! ♪\n- (laughs) Hi [unbalanced"
    spoken = cue_text(lines, NAMES, skip_descriptions=False)
    assert spoken.script == "[Alice] Hello door slams there! (laughs) [Bob] Hi unbalanced"
    assert cue_text(("♪ ♪",), NAMES, True).script == ""
    assert cue_text(("[SIREN WAILING]",), NAMES, True).script == ""
    assert cue_text((), NAMES, True) == cue_text((), NAMES, False)


def test_subtitle_script_one_line_per_cue_and_hash_is_not_a_comment():
    from ttsbuild.sources.script import Utterance, parse_script

    got = cues("basic.srt")
    script, texts = subtitle_script(got, NAMES, True)
    assert len(script.split("\n")) == len(got) == 9
    items = parse_script(script, "basic.srt")
    spoken = {i.line for i in items if isinstance(i, Utterance)}
    assert spoken == {1, 2, 5, 6, 8, 9}  # 3: [door slams], 4: music, 7: empty
    last = [i for i in items if isinstance(i, Utterance) and i.line == 9]
    assert last[0].text == "#1 on the list: stay calm."
    de = [i for i in items if isinstance(i, Utterance) and i.line == 6]
    assert {(u.speaker, u.language) for u in de} == {("bob", "de")}
    assert texts[1].display == "{\\an8}Bob, come &amp; look!"


def test_parse_srt_round_trips_what_format_srt_writes():
    from ttsbuild.assembly.timing import format_srt

    text = format_srt([(0, 24000, "One"), (36000, 48000, "Two\nrows")], 24000)
    got = parse_srt(text)
    assert [(c.start_ms, c.end_ms, c.lines) for c in got] == [
        (0, 1000, ("One",)),
        (1500, 2000, ("Two", "rows")),
    ]


def _plan(tmp_path, monkeypatch, timing: str, source: str = "basic.srt"):
    from ttsbuild.config import project_from_config
    from ttsbuild.planning.planner import Planner

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    (tmp_path / "subs").mkdir(exist_ok=True)
    (tmp_path / "subs/ep.srt").write_bytes((DATA / source).read_bytes())
    config = {
        "engine": "fake",
        "characters": {"narrator": {}, "alice": {}, "bob": {}},
        "aliases": {"al": "alice"},
        "episodes": {"ep": {"source": "subs/ep.srt", "timing": {"mode": timing}}},
    }
    return Planner(project_from_config(config, tmp_path)).plan_episode("ep")


def test_planner_one_segment_per_cue_and_mode_only_in_extra(tmp_path, monkeypatch, caplog):
    smart = _plan(tmp_path, monkeypatch, "smart_natural")
    segments = smart.segments()
    assert [(s.cue, s.line, s.speaker) for s in segments] == [
        (1, 3, "narrator"),
        (2, 7, "alice"),
        (5, 19, "bob"),
        (6, 24, "bob"),
        (6, 24, "bob"),
        (8, 31, "narrator"),
        (8, 31, "alice"),
        (9, 36, "narrator"),  # a cue is a line: the tag of cue 8 does not carry on
    ]
    assert [r.getMessage() for r in caplog.records if "untagged" in r.getMessage()] == [
        "ttsbuild: warning: subs/ep.srt:36: cue 9: this untagged cue is spoken by the narrator "
        "as written, without the tag [Al] of the cue before: a tag applies to its own cue only; "
        "repeat the tag in this cue (docs/timing.md)"
    ]
    assert [s.text for s in segments][:3] == [
        "The storm had passed.",
        "Bob, come & look!",
        "A boat? Nobody sails here.",
    ]
    pauses = [i for i in smart.items if not hasattr(i, "key")]
    assert [(p.cue, p.milliseconds) for p in pauses] == [(6, 300.0)]
    cues = smart.extra["srt"]["cues"]
    assert len(cues) == 9 and cues[2]["descriptions"] == ["door slams"]
    stretch = _plan(tmp_path, monkeypatch, "stretch_to_fit")
    assert [s.key for s in stretch.segments()] == [s.key for s in segments]
    assert stretch.to_dict() != smart.to_dict()
    assert stretch.extra["srt"]["timing"]["mode"] == "stretch_to_fit"


def test_long_cue_is_chunked_within_its_cue(tmp_path, monkeypatch):
    from ttsbuild.config import project_from_config
    from ttsbuild.planning.planner import Planner

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    long = " ".join(f"Sentence number {i} is here." for i in range(12))
    (tmp_path / "ep.srt").write_text(f"1\n00:00:01,000 --> 00:00:09,000\n{long}\n", "utf-8")
    config = {
        "engine": "fake",
        "max_chars": 60,
        "numbers": False,  # the digits stay digits (core/numbers.py would spell them)
        "characters": {"narrator": {}},
        "episodes": {"ep": {"source": "ep.srt"}},
    }
    plan = Planner(project_from_config(config, tmp_path)).plan_episode("ep")
    segments = plan.segments()
    assert len(segments) > 4 and {s.cue for s in segments} == {1}
    assert " ".join(s.text for s in segments) == long
