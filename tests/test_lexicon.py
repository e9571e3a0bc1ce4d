"""The pronunciation lexicon: case rules, whole words, phonemes, scopes, files, and its effect on
segment keys (the text after the lexicon is what the key covers)."""

from __future__ import annotations

import json
import os

import pytest

from ttsbuild.config.project import load_project
from ttsbuild.core.errors import ConfigError
from ttsbuild.core.lexicon import Entry, Lexicon
from ttsbuild.planning.planner import Planner

CONFIG = """\
engine: fake
lexicon:
  nguyen: win
  SQL: sequel
lexicon_languages:
  de: {nguyen: nujen}
characters:
  narrator: {}
  alice: {lexicon: {tomato: tomahto}}
episodes:
  ep1: {source: scripts/ep1.txt}
"""

SCRIPT = """\
Nguyen writes SQL.
[Alice] A tomato for Nguyen.
[de:Alice] Guten Tag, Nguyen.
[Narrator] Nothing to replace here.
Sql and sql stay, NGUYEN does not.
"""


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")


def texts(project_dir) -> dict[int, str]:
    planner = Planner(load_project(project_dir.path))
    plan = planner.plan_episode("ep1")
    return {s.line: s.text for s in plan.segments()}


def test_case_rules_and_whole_words():
    lex = Lexicon((Entry("ann", "anne"), Entry("US", "you ess"), Entry("new york", "noo york")))
    text, used = lex.apply("Ann met Anna in New York; us and the US.", "en", "x")
    assert text == "Anne met Anna in Noo york; us and the you ess."
    assert [e.word for e in used] == ["new york", "ann", "US"]


def test_phonemes_pass_through_and_may_be_a_replacement():
    lex = Lexicon((Entry("nguyen", "[[ ŋwˈɪən ]]"),))
    text, _ = lex.apply("Nguyen said [[ nguyen ]].", "en", "x")
    assert text == "[[ ŋwˈɪən ]] said [[ nguyen ]]."


def test_scopes_character_then_language_then_project(make_project):
    project = make_project(config=CONFIG, script=SCRIPT)
    lines = texts(project)
    assert lines[1] == "Win writes sequel."
    assert lines[2] == "A tomahto for Win."
    assert lines[3] == "Guten Tag, Nujen."
    assert lines[5] == "Sql and sql stay, Win does not."


def test_changing_one_entry_changes_exactly_the_lines_with_the_word(make_project):
    project = make_project(config=CONFIG, script=SCRIPT)
    before = {s.line: s.key for s in Planner(load_project(project.path)).plan_episode("ep1").items}
    project.write("config/config.yaml", CONFIG.replace("SQL: sequel", "SQL: ess queue ell"))
    planner = Planner(load_project(project.path))
    after = {s.line: s for s in planner.plan_episode("ep1").items}
    changed = {line for line, seg in after.items() if seg.key != before[line]}
    assert changed == {1}
    assert "lexicon entry 'SQL' -> 'ess queue ell' (config/config.yaml:4)" in after[1].lexicon


def test_lexicon_files_yaml_and_tsv(make_project):
    project = make_project(config=CONFIG + "lexicon_file: lexicon.tsv\n", script=SCRIPT)
    project.write("lexicon.tsv", "# word\treplacement\tlanguage\nwrites\tpens\nTag\tTaag\tde\n")
    lines = texts(project)
    assert lines[1] == "Win pens sequel."
    assert lines[3] == "Guten Taag, Nujen."
    project.write("config/config.yaml", CONFIG + "lexicon_file: lexicon.yaml\n")
    project.write("lexicon.yaml", "writes: scribbles\n")
    assert texts(project)[1] == "Win scribbles sequel."


def test_a_bad_tsv_line_is_located(make_project):
    project = make_project(config=CONFIG + "lexicon_file: lexicon.tsv\n", script=SCRIPT)
    project.write("lexicon.tsv", "good\tfine\nno tab here\n")
    with pytest.raises(ConfigError, match=r"lexicon.tsv:2: a lexicon line is"):
        load_project(project.path)


def test_lexicon_check_lists_entries_that_match_no_line(make_project):
    config = CONFIG.replace("SQL: sequel", "SQL: sequel\n  gizmo: gadget")
    project = make_project(config=config, script=SCRIPT)
    result = project.ttsbuild("lexicon", "check")
    assert result.returncode == 1, result.output
    assert "config/config.yaml:5: lexicon entry 'gizmo' matches no line" in result.stdout
    assert "5 lexicon entries, 1 match no line" in result.stdout
    project.write("scripts/ep1.txt", SCRIPT + "A gizmo.\n")
    assert project.ttsbuild("lexicon", "check").returncode == 0


@pytest.mark.slow
def test_a_build_resynthesizes_exactly_the_lines_with_the_changed_entry(make_project, tmp_path):
    project = make_project(config=CONFIG, script=SCRIPT)
    renders = tmp_path / "renders.txt"
    first = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_RENDERS=str(renders))
    assert first.returncode == 0, first.output
    assert len(renders.read_text().splitlines()) == 5
    project.write("config/config.yaml", CONFIG.replace("nguyen: win", "nguyen: nwin"))
    explain = project.ttsbuild("explain")
    assert "lexicon entry 'nguyen' -> 'nwin' (config/config.yaml:3)" in explain.stdout, (
        explain.output
    )
    second = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_RENDERS=str(renders))
    assert second.returncode == 0, second.output
    again = [line.split(" ", 1)[1] for line in renders.read_text().splitlines()[5:]]
    # lines 1, 2 and 5 say Nguyen in English; line 3's German entry is its own
    assert sorted(again) == [
        "A tomahto for Nwin.",
        "Nwin writes sequel.",
        "Sql and sql stay, Nwin does not.",
    ]
    stages = json.loads((project.path / "out/build-report.json").read_text())["stages"]
    assert stages == {"synthesize": {"ran": 3, "reused": 2, "failed": 0}}


# --- issue 25, finding 6: the lexicon file is read like a source, compiled once per build ---


def test_the_matcher_is_compiled_once_per_build_not_per_line(monkeypatch):
    from ttsbuild.core import lexicon as lex

    built = []
    real = lex._Matcher.__init__

    def counting(self, entries):
        built.append(1)
        real(self, entries)

    monkeypatch.setattr(lex._Matcher, "__init__", counting)
    book = Lexicon(tuple(Entry(f"word{i}", f"w{i}") for i in range(2000)))
    for i in range(100):
        assert book.apply(f"Say word{i} now.", "en", "alice")[0] == f"Say w{i} now."
    book.apply("Say word1.", "de", "alice")
    assert len(built) == 2  # one per (language, character): was one per line


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: os.mkfifo(p), "it is a FIFO, not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "it is a device, not a regular file"),
        (lambda p: _sparse(p, 65 << 20), "larger than the 64 MiB limit"),
    ],
    ids=["fifo", "dev-zero", "sparse-65MiB"],
)
def test_a_lexicon_file_that_is_not_a_small_regular_file_is_refused(make_project, make, message):
    allow = "allow_outside: [/dev]\n"  # /dev/zero through a link: outside, then not regular
    project = make_project(config=CONFIG + "lexicon_file: lexicon.tsv\n" + allow, script=SCRIPT)
    make(project.path / "lexicon.tsv")
    with pytest.raises(ConfigError, match=message):
        load_project(project.path)


def _sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def test_a_lexicon_file_outside_the_project_needs_allow_outside(make_project, tmp_path):
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "lexicon.tsv").write_text("writes\tpens\n")
    project = make_project(config=CONFIG + "lexicon_file: ../shared/lexicon.tsv\n", script=SCRIPT)
    with pytest.raises(ConfigError, match="outside the project directory.*allow_outside"):
        load_project(project.path)
    project.write(
        "config/config.yaml",
        CONFIG + "lexicon_file: ../shared/lexicon.tsv\nallow_outside: [../shared]\n",
    )
    assert texts(project)[1] == "Win pens sequel."


def test_a_lexicon_file_in_another_encoding_is_located(make_project):
    project = make_project(config=CONFIG + "lexicon_file: lexicon.tsv\n", script=SCRIPT)
    (project.path / "lexicon.tsv").write_bytes("good\tfine\ncaf\u00e9\tkafay\n".encode("cp1252"))
    with pytest.raises(ConfigError, match=r"lexicon.tsv:2: not valid UTF-8 \(byte 0xe9\)"):
        load_project(project.path)
    (project.path / "lexicon.tsv").write_bytes(b"good\tfi\x07ne\n")
    with pytest.raises(ConfigError, match=r"lexicon.tsv:1: control character U\+0007"):
        load_project(project.path)
