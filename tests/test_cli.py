"""The ``ttsbuild`` command line on real projects (fake engine): check, plan/explain, verify, gc."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FAKE_CONFIG, rendered_count
from ttsbuild.cli import commands as cli


def _build(project, **env):
    result = project.snakemake("-j1", "out/ep1.wav", **env)
    assert result.returncode == 0, result.output
    return result


def test_check_and_clean_errors(make_project):
    project = make_project()
    ok = project.ttsbuild("check")
    assert ok.returncode == 0, ok.output
    assert "ep1: scripts/ep1.txt: 6 segments, ok" in ok.stdout
    project.write("scripts/ep1.txt", "[Carol] Who?\n")
    bad = project.ttsbuild("check")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        (
            "ttsbuild: error: scripts/ep1.txt:1: unknown character 'carol'; known: al, alice, "
            "bob, narrator (add it under 'characters:' in config/config.yaml)"
        )
    ]
    debug = project.ttsbuild("--debug", "check")
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert project.ttsbuild("frobnicate").returncode == 2
    missing = project.ttsbuild("-C", str(project.path / "nope"), "check")
    assert missing.returncode == 1 and "project directory not found" in missing.stderr


def test_internal_error_is_one_line(monkeypatch, capsys):
    def boom(args):
        raise ValueError("something broke")

    monkeypatch.setitem(cli.COMMANDS, "check", boom)
    assert cli.main(["check"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("ttsbuild: internal error: ValueError: something broke")
    assert len(err.splitlines()) == 1
    with pytest.raises(ValueError):
        cli.main(["--debug", "check"])


@pytest.mark.slow
def test_explain_says_why(make_project):
    project = make_project()
    fresh = project.ttsbuild("explain")
    assert fresh.returncode == 0
    assert "ep1: 6 segments, 0 stored, 6 to render" in fresh.stdout
    assert fresh.stdout.count("why: new line: no earlier render") == 6
    _build(project)
    assert "6 stored, 0 to render" in project.ttsbuild("explain").stdout

    script = (project.path / "scripts/ep1.txt").read_text()
    project.write("scripts/ep1.txt", script.replace("Hello Bob.", "Hello there, Bob."))
    config = (project.path / "config/config.yaml").read_text()
    project.write("config/config.yaml", config.replace("brightness: 0.8", "brightness: 0.6"))
    explained = project.ttsbuild("explain").stdout
    assert "6 segments, 3 stored, 3 to render" in explained
    assert (
        "scripts/ep1.txt:3 alice: Hello there, Bob.\n         why: changed text (was: 'Hello Bob.')\n"
        in explained
    )
    # Bob speaks two lines: a tag applies to its own line, so the narrator closes the scene.
    assert explained.count("why: changed parameter brightness: 0.8 -> 0.6") == 2
    assert "why: changed seed" not in explained  # derived seeds follow the text
    plan = project.ttsbuild("plan").stdout
    assert plan.count("  stored ") == 3 and plan.count("  render ") == 3 and "why" not in plan
    assert rendered_count(_build(project)) == 3


@pytest.mark.slow
def test_verify_finds_and_removes_corrupt_segments(make_project):
    project = make_project()
    _build(project)
    store = project.path / "build/segments"
    assert project.ttsbuild("verify").returncode == 0
    victim = sorted(store.glob("*.wav"))[2]
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])  # truncated
    (store / "0123456789abcdef0123.json").write_text("{}")  # sidecar of a render killed early
    (store / ".0123456789abcdef0123.wav.x1y2.tmp.wav").write_bytes(b"RIFF")
    report = project.ttsbuild("verify")
    assert report.returncode == 1, report.output
    assert f"corrupt: {victim}:" in report.stdout
    assert "6 segments checked" in report.stdout and "1 corrupt, 2 notes" in report.stdout
    fixed = project.ttsbuild("verify", "--delete")
    assert fixed.returncode == 0, fixed.output
    assert "3 files removed" in fixed.stdout
    assert not victim.exists() and not victim.with_suffix(".json").exists()
    assert [p.name for p in store.iterdir() if p.name.startswith(".") and p.is_file()] == []
    assert project.ttsbuild("verify").returncode == 0
    assert rendered_count(_build(project)) == 1


@pytest.mark.slow
def test_gc_keeps_every_referenced_segment(make_project, tmp_path):
    project = make_project()
    _build(project)
    script = (project.path / "scripts/ep1.txt").read_text()
    project.write("scripts/ep1.txt", script.replace("Hello Bob.", "Hello there, Bob."))
    _build(project)
    store = project.path / "build/segments"
    before = sorted(p.name for p in store.glob("*.wav"))
    assert len(before) == 7
    dry = project.ttsbuild("gc")
    assert dry.returncode == 0, dry.output
    assert "1 unreferenced segments" in dry.stdout and "'Hello Bob.'" in dry.stdout
    assert "dry run: nothing deleted" in dry.stdout
    assert sorted(p.name for p in store.glob("*.wav")) == before
    assert "warning" not in dry.stderr  # the store is inside the project
    done = project.ttsbuild("gc", "--yes")
    assert done.returncode == 0 and "removed 1" in done.stdout
    assert len(list(store.glob("*.wav"))) == 6
    again = project.snakemake("-j1", "out/ep1.wav", "--forceall")
    assert again.returncode == 0 and rendered_count(again) == 0
    assert "nothing to remove" in project.ttsbuild("gc").stdout
    # An episode that cannot be planned: gc cannot know its references, so it deletes nothing.
    project.write("scripts/ep1.txt", "[Carol] Who?\n")
    refused = project.ttsbuild("gc", "--yes")
    assert refused.returncode == 1 and "unknown character 'carol'" in refused.stderr
    assert len(list(store.glob("*.wav"))) == 6


@pytest.mark.slow
def test_gc_with_a_shared_store_warns_and_keeps_named_projects(make_project, tmp_path):
    shared = tmp_path / "team-store"
    a = make_project(name="a")
    b = make_project(name="b", script="[Bob] Only b says this.\n")
    for p in (a, b):
        _build(p, TTSBUILD_STORE=str(shared))
    assert len(list(shared.glob("*.wav"))) == 7
    alone = a.ttsbuild("gc", TTSBUILD_STORE=str(shared))
    assert "may be shared" in alone.stderr
    assert "1 unreferenced segments" in alone.stdout
    both = a.ttsbuild("gc", "--yes", "--project", str(b.path), TTSBUILD_STORE=str(shared))
    assert both.returncode == 0, both.output
    assert "nothing to remove" in both.stdout
    assert len(list(shared.glob("*.wav"))) == 7
    sidecars = [json.loads(p.read_text()) for p in shared.glob("*.json")]
    assert len(sidecars) == 7


def test_directory_option_before_or_after_the_command(make_project, monkeypatch, capsys):
    project = make_project()
    _build(project)
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    for argv in (
        ["verify", "-C", str(project.path)],
        ["-C", str(project.path), "verify"],
        ["check", "--directory", str(project.path)],
        ["-C", "/nonexistent", "plan", "-C", str(project.path)],  # after the command wins
    ):
        assert cli.main(argv) == cli.EXIT_OK, argv
    assert "6 segments checked" in capsys.readouterr().out


def test_outside_a_project_the_error_names_the_directory_option(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["verify"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("ttsbuild: error: no ttsbuild project here: config/config.yaml")
    assert "-C DIR" in err


def test_gc_says_what_differs_between_variants_of_a_line(make_project):
    config = "engine: fake\ncharacters:\n  narrator: {}\n  alice: {params: {pitch: 4}}\n"
    config += "episodes:\n  ep1: {source: scripts/ep1.txt}\n"
    project = make_project(config, "The sea was calm.\n[Alice] Look, a boat!\n")
    _build(project)
    project.write("config/config.yaml", config.replace("pitch: 4", "pitch: -3"))
    _build(project)
    dry = project.ttsbuild("gc")
    assert dry.returncode == 0, dry.output
    lines = [ln for ln in dry.stdout.splitlines() if ln.startswith("unreferenced:")]
    assert len(lines) == 1, dry.stdout
    assert lines[0].endswith("alice: 'Look, a boat!'; pitch_shift 4 vs -3 now)"), dry.stdout
    project.write("scripts/ep1.txt", "The sea was calm.\n[Alice] Look, a ship!\n")
    _build(project)
    renamed = project.ttsbuild("gc").stdout
    assert "text 'Look, a boat!' vs 'Look, a ship!' now" in renamed
    assert "seed" not in renamed  # the derived seed follows the text: not a difference of its own


def test_check_warns_about_an_untagged_line_after_a_tagged_one(make_project):
    project = make_project(script="[Bob|seed:7] Very well.\nThe narrator closes.\n")
    check = project.ttsbuild("check")
    assert check.returncode == 0, check.stderr
    assert check.stderr.splitlines() == [
        "ttsbuild: warning: scripts/ep1.txt:2: this untagged line is spoken by the narrator as "
        "written, without the tag [Bob|seed:7] of the line before: a tag applies to its own "
        "line only; repeat the tag, or indent the lines under a tag line of their own "
        "(docs/script.md)"
    ]


def test_verify_catches_same_length_alteration(make_project):
    """Issue 18 finding 5: every sample byte inverted, same length, still decodes: "0 corrupt"
    before; the sidecar now records the file's sha256 and verify compares it."""
    project = make_project()
    _build(project)
    store = project.path / "build/segments"
    victim = sorted(store.glob("*.wav"))[1]
    data = victim.read_bytes()
    victim.write_bytes(data[:44] + bytes(255 - b for b in data[44:]))  # header kept
    report = project.ttsbuild("verify")
    assert report.returncode == 1, report.output
    assert f"corrupt: {victim}: content differs from the sha256 its sidecar recorded" in (
        report.stdout
    )
    assert "1 corrupt" in report.stdout


@pytest.mark.slow
def test_corrupt_segment_cannot_poison_the_clip_cache(make_project):
    """Issue 18 finding 4: a truncated segment, then a trim_db change, gave a short episode
    (exit 0), and verify --delete plus a rebuild (even --forceall) kept it short. Now the
    build refuses the corrupt segment with one line naming it and the fix, and the documented
    repair (verify --delete, build) gives exactly the episode a clean build gives."""
    clean = make_project(name="clean")
    clean.write("config/config.yaml", FAKE_CONFIG + "output: {trim_db: -40}\n")
    assert clean.snakemake("-j1", "out/ep1.wav").returncode == 0
    expected = (clean.path / "out/ep1.wav").read_bytes()

    project = make_project()
    _build(project)
    victim = sorted((project.path / "build/segments").glob("*.wav"))[2]
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) * 2 // 3])
    project.write("config/config.yaml", FAKE_CONFIG + "output: {trim_db: -40}\n")
    broken = project.snakemake("-j1", "out/ep1.wav")
    assert broken.returncode != 0
    assert f"{victim}: stored segment is corrupt" in broken.output
    assert "run 'ttsbuild verify --delete' and build again" in broken.output
    assert project.ttsbuild("verify", "--delete").returncode == 0
    repaired = project.snakemake("-j1", "out/ep1.wav")
    assert repaired.returncode == 0, repaired.output
    assert rendered_count(repaired) == 1
    assert (project.path / "out/ep1.wav").read_bytes() == expected


@pytest.mark.parametrize(
    "bed,message",
    [
        ("beds/missing.wav", r"config/config.yaml:\d+: .*bed 'beds/missing.wav' not found"),
        ("/etc/passwd", r"config/config.yaml:\d+: bed '/etc/passwd' is outside the project"),
        (
            "beds/fifo.wav",
            r"config/config.yaml:\d+: .*bed 'beds/fifo.wav' cannot be used: it is a FIFO",
        ),
    ],
)
def test_check_finds_a_bed_the_build_cannot_use(make_project, capsys, monkeypatch, bed, message):
    # check said "project ok" and the build failed (or, for a FIFO, hung) at the mix
    import os

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    import re

    from tests.conftest import FAKE_CONFIG

    project = make_project(
        FAKE_CONFIG.replace(
            "{source: scripts/ep1.txt}", f"{{source: scripts/ep1.txt, bed: {{file: {bed}}}}}"
        )
    )
    (project.path / "beds").mkdir()
    os.mkfifo(project.path / "beds/fifo.wav")
    assert cli.main(["-C", str(project.path), "check"]) == cli.EXIT_ERROR
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "ttsbuild: error" in x]
    assert re.search(message, line), line
