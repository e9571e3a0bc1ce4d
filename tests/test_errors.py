"""User errors: one clear line naming the file and line, non-zero exit, store untouched."""

from __future__ import annotations

import pytest

from tests.conftest import FAKE_CONFIG


def _error_line(result) -> str:
    lines = [l for l in result.stderr.splitlines() if l.startswith("ttsbuild: error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


CASES = [
    ("script", "[Carol] Who am I?\n", "scripts/ep1.txt:1: unknown character 'carol'"),
    ("script", "Fine.\n[Alice Hello\n", "scripts/ep1.txt:2: unclosed tag"),
    ("script", "Fine.\n\nAlice] Hello\n", "scripts/ep1.txt:3: stray ']'"),
    ("script", "[pause:2 minutes]\nHi.\n", "scripts/ep1.txt:1: bad pause length"),
    ("script", "[alice|volume:3] Hi.\n", "scripts/ep1.txt:1: unknown parameter 'volume'"),
    ("script", "[alice|speed:9] Hi.\n", "scripts/ep1.txt:1: parameter 'speed' = 9 is out of range"),
    ("script", "[ja:alice] Konnichiwa.\n", "scripts/ep1.txt:1: engine 'fake' cannot speak 'ja'"),
    ("script", "# only a comment\n", "scripts/ep1.txt: the episode has nothing to say"),
    ("config", FAKE_CONFIG.replace("engine: fake", "engine: nosuch"), "unknown engine 'nosuch'"),
    ("config", FAKE_CONFIG.replace("  alice: {params", "  alice: {voice: voices/a.wav, params"),
     "voice file 'voices/a.wav' not found"),
    ("config", FAKE_CONFIG + "outptu: {}\n", "config/config.yaml:9: unknown key 'outptu' in the top level (did you mean 'output'?)"),
    ("config", FAKE_CONFIG.replace("{speed: 1.1}", "{sped: 1.1}"), "unknown parameter 'sped'"),
    ("config", FAKE_CONFIG.replace("al: alice", "al: alicia"), "alias 'al' points to unknown character 'alicia'"),
    ("config", FAKE_CONFIG + "max_chars: five\n", "config/config.yaml:9: 'max_chars': 'five' is not of type 'integer'"),
    ("config", FAKE_CONFIG.replace("scripts/ep1.txt", "../../etc/passwd"), "outside the project directory"),
    ("config", FAKE_CONFIG.replace("scripts/ep1.txt", "scripts/missing.txt"), "scripts/missing.txt: script file not found"),
    ("config", "characters: [oops\n", "config/config.yaml:2: invalid YAML"),
]


@pytest.mark.parametrize("kind,text,expected", CASES)
def test_bad_input_gives_one_clear_line(make_project, kind, text, expected):
    project = make_project()
    assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    store_before = project.segments()
    if kind == "script":
        project.write("scripts/ep1.txt", text)
    else:
        project.write("config/config.yaml", text)
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode != 0
    assert expected in _error_line(result)
    assert project.segments() == store_before  # nothing already rendered was touched


def test_script_not_utf8(make_project):
    project = make_project()
    (project.path / "scripts/ep1.txt").write_bytes("Caf\xe9 au lait.\n".encode("cp1252"))
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode != 0
    assert "scripts/ep1.txt:1: not valid UTF-8" in _error_line(result)


def test_failing_segment_keeps_the_others(make_project):
    project = make_project()
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_FAIL="today")
    assert result.returncode != 0
    assert "scripts/ep1.txt:6 (alice): engine 'fake' failed: fake failure" in result.output
    assert len(project.segments()) == 5  # every other segment rendered and kept
    resumed = project.snakemake("-j1", "out/ep1.wav")
    assert resumed.returncode == 0, resumed.output
    assert "rendered 1 of 1 segments" in resumed.output


def test_nan_audio_is_rejected(make_project):
    project = make_project()
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_NAN="today")
    assert result.returncode != 0
    assert "scripts/ep1.txt:6 (alice): the engine returned NaN" in result.output
    assert len(project.segments()) == 5
