"""User errors: one clear line naming the file and line (or key), non-zero exit, store untouched.

The corpus below runs in-process through the Snakefile's own entry point (``preflight`` and
``load_build``: config validation and planning), on a copy of a project that was already built
once; a handful of cases (``E2E``) also run through real ``snakemake`` builds (marked slow).

Hook for other input kinds (subtitles, voice audio): a case is ``(path, content, expected)``
and may add a fourth item, a dict of other files to write first (``{path: str | bytes}``), e.g.
a config whose episode source is ``subs/ep1.srt`` and the malformed ``.srt`` itself, or a voice
file; add such cases to ``CASES`` (or extend it from the feature's test module).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest

from tests.conftest import FAKE_CONFIG, FAKE_SCRIPT, ProjectDir, Result, rendered_count

SCRIPT = "scripts/ep1.txt"
CONFIG = "config/config.yaml"


def _error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("ttsbuild: error:")]
    assert len(lines) == 1, result.output
    assert len(lines[0]) < 1000, lines[0][:2000]  # bounded, whatever the input (finding 7)
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> ProjectDir:
    base = tmp_path_factory.mktemp("built")
    project = ProjectDir(base / "show", base / "loads.txt")
    project.write(CONFIG, FAKE_CONFIG)
    project.write(SCRIPT, FAKE_SCRIPT)
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    return project


@pytest.fixture
def project(built, tmp_path) -> ProjectDir:
    """A fresh copy of a project whose episode is already built."""
    shutil.copytree(built.path, tmp_path / "show", symlinks=True)
    return ProjectDir(tmp_path / "show", tmp_path / "loads.txt")


C = FAKE_CONFIG

CASES = [
    # scripts
    (SCRIPT, "[Carol] Who am I?\n", "scripts/ep1.txt:1: unknown character 'carol'"),
    (
        SCRIPT,
        "[Alise] Hi.\n",
        "scripts/ep1.txt:1: unknown character 'alise'; did you mean 'alice'?",
    ),
    (SCRIPT, "Fine.\n[Alice Hello\n", "scripts/ep1.txt:2: unclosed tag starting at column 1"),
    (SCRIPT, "Fine.\n[Alice [Bob] Hello\n", "scripts/ep1.txt:2: unclosed tag"),
    (SCRIPT, "Fine.\n\nAlice] Hello\n", "scripts/ep1.txt:3: stray ']' at column 6"),
    (SCRIPT, "[] Hi.\n", "scripts/ep1.txt:1: bad tag []: expected [Name]"),
    (
        SCRIPT,
        "[xx1:bob] Hi.\n",
        "scripts/ep1.txt:1: bad tag [xx1:bob]: 'xx1' is not a language code",
    ),
    (SCRIPT, "[pause:2 minutes]\nHi.\n", "scripts/ep1.txt:1: bad pause length"),
    (SCRIPT, "Fine.\n[pause:700s]\n", "scripts/ep1.txt:2: pause of 700s is longer than 10 minutes"),
    (SCRIPT, "[alice|volume:3] Hi.\n", "scripts/ep1.txt:1: unknown parameter 'volume'"),
    (
        SCRIPT,
        "[alice|speed] Hi.\n",
        "scripts/ep1.txt:1: bad parameter 'speed': write parameters as name:number",
    ),
    (SCRIPT, "[alice|seed:1|seed:2] Hi.\n", "scripts/ep1.txt:1: parameter 'seed' given twice"),
    (SCRIPT, "[alice|speed:9] Hi.\n", "scripts/ep1.txt:1: parameter 'speed' = 9 is out of range"),
    (SCRIPT, "[ja:alice] Konnichiwa.\n", "scripts/ep1.txt:1: engine 'fake' cannot speak 'ja'"),
    (SCRIPT, "# only a comment\n", "scripts/ep1.txt: the episode has nothing to say"),
    (SCRIPT, "", "scripts/ep1.txt: the episode has nothing to say"),
    (SCRIPT, "[alice] [pause:1s] ...\n", "scripts/ep1.txt: the episode has nothing to say"),
    (
        SCRIPT,
        "Fine.\nHello\x00 there.\n",
        "scripts/ep1.txt:2: control character U+0000 at column 6",
    ),
    # cp1252 and UTF-16 without a BOM are detected (see test_other_encodings_...); a wrong
    # explicit encoding, an unknown one and bytes that are no text are errors with the place
    (
        SCRIPT,
        b"Fine.\nStill fine.\nCaf\xe9.\n",
        "scripts/ep1.txt:3: not valid utf-8 (byte 0xe9); fix 'encoding:'",
        {
            CONFIG: C.replace(
                "{source: scripts/ep1.txt}", "{source: scripts/ep1.txt, encoding: utf-8}"
            )
        },
    ),
    (
        SCRIPT,
        "Caf\xe9 au lait.\n".encode("cp1252"),
        "scripts/ep1.txt: unknown text encoding 'klingon'",
        {
            CONFIG: C.replace(
                "{source: scripts/ep1.txt}", "{source: scripts/ep1.txt, encoding: klingon}"
            )
        },
    ),
    (
        SCRIPT,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "scripts/ep1.txt: not UTF-8 and the text encoding cannot be detected; set 'encoding:'",
    ),
    # config
    (
        CONFIG,
        C.replace("engine: fake", "engine: nosuch"),
        "config/config.yaml:1: unknown engine 'nosuch'",
    ),
    (
        CONFIG,
        C.replace("  alice: {params", "  alice: {voice: voices/a.wav, params"),
        "voice file 'voices/a.wav' not found",
    ),
    (
        CONFIG,
        C + "outptu: {}\n",
        "config/config.yaml:9: unknown key 'outptu' in the top level (did you mean 'output'?)",
    ),
    (
        CONFIG,
        C + "narator: bob\n",
        "config/config.yaml:9: unknown key 'narator' in the top level (did you mean 'narrator'?)",
    ),
    (
        CONFIG,
        C + "output: {sample_rat: 8000}\n",
        "config/config.yaml:9: unknown key 'sample_rat' in 'output' (did you mean 'sample_rate'?)",
    ),
    (
        CONFIG,
        C + "output:\n  sample_rate: 100\n",
        "config/config.yaml:10: 'output.sample_rate': 100 is less than the minimum of 8000",
    ),
    (
        CONFIG,
        C + "batch_size: 0\n",
        "config/config.yaml:9: 'batch_size': 0 is less than the minimum of 1",
    ),
    (
        CONFIG,
        C + "max_chars: five\n",
        "config/config.yaml:9: 'max_chars': 'five' is not of type 'integer'",
    ),
    (
        CONFIG,
        C.replace("speed: 1.1", "speed: fast"),
        "config/config.yaml:4: 'characters.alice.params.speed': 'fast' is not of type 'number'",
    ),
    (
        CONFIG,
        C + "allow_outside: /tmp\n",
        "config/config.yaml:9: 'allow_outside': '/tmp' is not of type 'array'",
    ),
    (CONFIG, C.replace("{speed: 1.1}", "{sped: 1.1}"), "unknown parameter 'sped'"),
    (
        CONFIG,
        C.replace("al: alice", "al: alicia"),
        "config/config.yaml:6: alias 'al' points to unknown character 'alicia'",
    ),
    (
        CONFIG,
        C + "narrator: nobody\n",
        "scripts/ep1.txt:2: this line is spoken by the narrator, 'nobody', which is not a character",
    ),
    (
        CONFIG,
        C.replace("  bob: {params: {brightness: 0.8}}", "  bob: {}\n  alice: {}"),
        "config/config.yaml:6: invalid YAML: key 'alice' is given twice (first on line 4)",
    ),
    (
        CONFIG,
        C.replace("narrator: {}", "narrator: {}\n  Alice: {}"),
        "config/config.yaml:4: character 'alice' is listed twice (names are case-insensitive)",
    ),
    (CONFIG, C.split("episodes:")[0], "config/config.yaml: the top level is missing 'episodes'"),
    (
        CONFIG,
        C.replace("{source: scripts/ep1.txt}", "{title: One}"),
        "config/config.yaml:8: 'episodes.ep1' is missing 'source'",
    ),
    (
        CONFIG,
        C.replace("scripts/ep1.txt", "audio/ep1.mp3"),
        "config/config.yaml:8: episode 'ep1': unsupported source type '.mp3'",
    ),
    (
        CONFIG,
        C.replace("scripts/ep1.txt", "../../etc/passwd"),
        "config/config.yaml:8: source '../../etc/passwd' is outside the project directory",
    ),
    (
        CONFIG,
        C.replace("  alice: {params", "  alice: {voice: ../../outside.wav, params"),
        "config/config.yaml:4: voice '../../outside.wav' is outside the project directory",
    ),
    (
        CONFIG,
        C.replace("scripts/ep1.txt", "scripts/missing.txt"),
        "scripts/missing.txt: script file not found",
    ),
    (
        CONFIG,
        C.replace("scripts/ep1.txt", "scripts"),
        "scripts: cannot read script: it is a directory, not a regular file",
    ),
    (CONFIG, "characters: [oops\n", "config/config.yaml:2: invalid YAML"),
    (
        CONFIG,
        C.replace("  narrator: {}", "\tnarrator: {}"),
        "config/config.yaml:3: invalid YAML: found character '\\t'",
    ),
    (CONFIG, "- a\n- b\n", "config/config.yaml: the config is a list, not a mapping"),
    (CONFIG, "", "config/config.yaml: the config is empty"),
    (
        CONFIG,
        "engine: fake\ncharacters: {narrator: {}}\nepisodes: {ep1: {source: caf\xe9.txt}}\n".encode(
            "latin-1"
        ),
        "config/config.yaml:3: not valid UTF-8 (byte 0xe9)",
    ),
    (
        CONFIG,
        "!!python/object/apply:os.system ['touch pwned']\n",
        "config/config.yaml:1: invalid YAML: could not determine a constructor for the tag",
    ),
    # issue 18, finding 1: an episode name is a file name; it may not leave out/ or build/plans/
    (
        CONFIG,
        C.replace("  ep1: {source", '  "../../../victim": {source'),
        "config/config.yaml:8: 'episodes': the name '../../../victim' is not allowed",
    ),
    *(
        (CONFIG, C.replace("  ep1: {source", f"  {name}: {{source"), expected)
        for name, expected in [
            ('"a/b"', "the name 'a/b' is not allowed"),
            ('"ep 1"', "the name 'ep 1' is not allowed"),
            ('"ep1;rm -rf"', "the name 'ep1;rm -rf' is not allowed"),
            ('""', "the name '' is not allowed"),
            ('"ep\\n1"', "the name 'ep\\n1' is not allowed"),
            ('".hidden"', "the name '.hidden' is not allowed"),
            ("e" * 101, "the name 'eeeee"),
        ]
    ),
    # finding 12: a relative store may not climb out of the project unless allowed
    (
        CONFIG,
        C + "store: ../../../somewhere\n",
        "config/config.yaml:9: store '../../../somewhere' is outside the project directory",
    ),
    # finding 2: NaN and infinity in every number of the config
    *(
        (CONFIG, C + f"{section}:\n  {key}: {value}\n", f"config/config.yaml:10: '{section}.{key}'")
        for section, key in [
            ("output", "loudness_lufs"),
            ("output", "trim_db"),
            ("output", "peak_dbfs"),
            ("output", "gap_ms"),
            ("output", "chunk_gap_ms"),
            ("output", "padding_ms"),
            ("output", "fade_ms"),
            ("qa", "max_wer"),
            ("render_server", "idle_seconds"),
        ]
        for value in (".nan", ".inf", "-.inf")
    ),
    *(
        (
            CONFIG,
            C.replace(
                "{source: scripts/ep1.txt}", f"{{source: scripts/ep1.txt, timing: {{{key}: {v}}}}}"
            ),
            f"config/config.yaml:8: 'episodes.ep1.timing.{key}': {shown} is not a finite number",
        )
        for key in ("shift_tolerance_ms", "max_stretch")
        for v, shown in ((".nan", "nan"), (".inf", "inf"))
    ),
    (
        CONFIG,
        C.replace("speed: 1.1", "speed: .nan"),
        "config/config.yaml:4: 'characters.alice.params.speed': nan is not a finite number",
    ),
    # finding 2: ... and in script parameters and pauses
    (SCRIPT, "[alice|speed:nan] Hi.\n", "scripts/ep1.txt:1: bad parameter 'speed:nan'"),
    (SCRIPT, "[alice|speed:inf] Hi.\n", "scripts/ep1.txt:1: bad parameter 'speed:inf'"),
    (SCRIPT, "[alice|speed:1e999] Hi.\n", "scripts/ep1.txt:1: bad parameter"),
    (
        SCRIPT,
        "[alice|speed:" + "9" * 400 + "] Hi.\n",
        "scripts/ep1.txt:1: parameter 'speed' is not a finite number",
    ),
    (
        SCRIPT,
        "Hi.\n[pause:" + "9" * 400 + "s]\n",
        "scripts/ep1.txt:2: pause of " + "9" * 400 + "s is longer than 10 minutes",
    ),
    # finding 8: only \n, \r\n and \r end a line (not U+2028, U+0085, form feeds...)
    (
        SCRIPT,
        "Fine.\nA\u2028B.\nC\u2029D.\n[Carol] x\n",
        "scripts/ep1.txt:4: unknown character",
    ),
    (
        SCRIPT,
        "Fine.\r\nA\x1c\x1dB.\r\n[Carol] x\r\n",
        "scripts/ep1.txt:2: control character U+001C",
    ),
    (SCRIPT, "Fine.\rA.\r[Carol] x\r", "scripts/ep1.txt:3: unknown character"),
    (SCRIPT, "Fine.\nA\x0cB.\n", "scripts/ep1.txt:2: control character U+000C"),
    (SCRIPT, "Fine.\nA\u2028B.\nC\x85D.\n", "scripts/ep1.txt:3: control character U+0085"),
    # finding 7: a "billion laughs" config is refused before it is expanded
    (
        CONFIG,
        C.replace("{source: scripts/ep1.txt}", "{source: scripts/ep1.txt, title: *l9}").replace(
            "engine: fake\n",
            "engine: fake\nx-laughs:\n  - &l0 lol\n"
            + "".join(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)),
        ),
        "config/config.yaml:1: invalid YAML: the config expands to more than 100000 values",
    ),
    # finding 7: a huge value quoted in a schema error is cut short (the line stays bounded)
    (
        CONFIG,
        C + "max_chars: [" + "lol, " * 50_000 + "lol]\n",
        "config/config.yaml:9: 'max_chars': ['lol', 'lol', 'lol',",
    ),
    # finding 7: a 5,000-digit cue number
    (
        "subs/ep1.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nHello.\n\n" + "7" * 5000 + "\n00:00:03,000 --> "
        "00:00:04,000\nAgain.\n",
        "subs/ep1.srt:5: cue number 777777777777... is too long (at most 9 digits)",
        {CONFIG: C.replace("scripts/ep1.txt", "subs/ep1.srt")},
    ),
    # finding 3: a documented maximum timeline length, checked at plan time
    (
        SCRIPT,
        "Hi.\n" + "[pause:600s]\n" * 300,
        "scripts/ep1.txt:290: the pauses so far add up to more than 48 hours",
    ),
    (
        "subs/ep1.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nHello.\n\n2\n49:00:00,000 --> 49:00:01,000\nLate.\n",
        "subs/ep1.srt:6: cue 2 ends after 48 hours, the limit of one episode",
        {CONFIG: C.replace("scripts/ep1.txt", "subs/ep1.srt")},
    ),
    # another episode's script is broken: every episode is planned before anything renders
    (
        "scripts/more/ep2.txt",
        "Fine.\n[Bob|speed:0.1] Too slow.\n",
        "scripts/more/ep2.txt:2: parameter 'speed' = 0.1 is out of range",
        {CONFIG: C + "  ep2: {source: scripts/more/ep2.txt}\n"},
    ),
]


def _write(project: ProjectDir, relative: str, content: str | bytes) -> None:
    path = project.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _check_case(project: ProjectDir, case: tuple, run: Callable[[ProjectDir], Result]) -> None:
    target, content, expected, *more = case
    store_before = project.segments()
    assert store_before, "the template build should have stored segments"
    for relative, data in (more[0] if more else {}).items():
        _write(project, relative, data)
    _write(project, target, content)
    result = run(project)
    assert result.returncode != 0
    assert expected in _error_line(result)
    assert project.segments() == store_before  # nothing already rendered was touched
    assert not (project.path / "pwned").exists()  # YAML is safe-loaded: no object tags run


@pytest.mark.parametrize("case", CASES, ids=[f"{t[0][:6]}{i}" for i, t in enumerate(CASES)])
def test_bad_input_gives_one_clear_line(project, case):
    _check_case(project, case, ProjectDir.plan_in_process)


#: One case of each kind through a real ``snakemake`` run: script, config value, YAML syntax,
#: another episode's script.
E2E = [
    CASES[0],
    CASES[27],
    next(c for c in CASES if c[1] == "- a\n- b\n"),
    CASES[-1],
    next(c for c in CASES if "victim" in c[2]),  # issue 18 finding 1: even -n wrote the plan
]


@pytest.mark.slow
@pytest.mark.parametrize("case", E2E, ids=[f"e2e-{t[0][:6]}" for t in E2E])
def test_bad_input_through_snakemake(project, case):
    _check_case(project, case, lambda p: p.snakemake("-j1", "out/ep1.wav"))


@pytest.mark.slow
def test_episode_name_cannot_write_outside_the_project_even_in_a_dry_run(project):
    victim = project.path.parent / "victim.json"
    victim.write_text("keep me")
    project.write(CONFIG, C.replace("  ep1: {source", '  "../victim": {source'))
    result = project.snakemake("-n")
    assert result.returncode != 0
    assert "the name '../victim' is not allowed" in _error_line(result)
    assert victim.read_text() == "keep me"
    assert not (project.path / "build/victim.json").exists()


def test_fifo_and_devices_are_refused_without_blocking(project, tmp_path):
    """Finding 6/7: a FIFO as a script blocked ``check``; /dev/zero as a source or voice ran
    out of memory. Only regular files are opened, without blocking, with a size limit."""
    fifo = project.path / "scripts/fifo.txt"
    os.mkfifo(fifo)
    project.write(CONFIG, C.replace("scripts/ep1.txt", "scripts/fifo.txt"))
    assert "scripts/fifo.txt: cannot read script: it is a FIFO, not a regular file" in (
        _error_line(project.plan_in_process())
    )
    os.symlink("/dev/zero", project.path / "scripts/zero.txt")
    project.write(
        CONFIG, C.replace("scripts/ep1.txt", "scripts/zero.txt") + "allow_outside: [/dev]\n"
    )
    assert "scripts/zero.txt: cannot read script: it is a device, not a regular file" in (
        _error_line(project.plan_in_process())
    )
    project.write(
        CONFIG,
        C.replace("  alice: {params", "  alice: {voice: /dev/zero, params")
        + "allow_outside: [/dev]\n",
    )
    assert "config/config.yaml:4: characters.alice: voice file '/dev/zero' cannot be used: " in (
        _error_line(project.plan_in_process())
    )
    os.mkfifo(project.path / "voice.wav")
    project.write(CONFIG, C.replace("  alice: {params", "  alice: {voice: voice.wav, params"))
    assert "voice file 'voice.wav' cannot be used: it is a FIFO, not a regular file" in (
        _error_line(project.plan_in_process())
    )


def test_oversized_source_is_refused(project, monkeypatch):
    from ttsbuild.core import files

    monkeypatch.setattr(files, "MAX_SOURCE_BYTES", 100)
    monkeypatch.setattr(files.read_regular, "__defaults__", (100,))
    project.write(SCRIPT, "Hello there. " * 10)
    assert "scripts/ep1.txt: cannot read script: it is 0.00012" in (
        _error_line(project.plan_in_process())
    )


CP1252_SCRIPT = FAKE_SCRIPT.replace("opens the scene", "opens the caf\xe9 \u2013 na\xefve \u20ac5")


@pytest.mark.parametrize(
    "data",
    [
        FAKE_SCRIPT.encode("utf-16"),  # UTF-16 with a byte-order mark
        b"\xef\xbb\xbf" + FAKE_SCRIPT.replace("\n", "\r\n").encode("utf-8"),  # BOM + CRLF
        FAKE_SCRIPT.encode("utf-16-le"),  # no BOM: detected, not "control character U+0000"
        FAKE_SCRIPT.encode("utf-16-be"),
        CP1252_SCRIPT.encode("cp1252"),  # detected by charset-normalizer
    ],
    ids=["utf16-bom", "utf8-bom-crlf", "utf16le-no-bom", "utf16be-no-bom", "cp1252"],
)
@pytest.mark.slow
def test_other_encodings_of_the_same_script_render_the_same(project, data):
    if data == CP1252_SCRIPT.encode("cp1252"):
        _write(project, SCRIPT, CP1252_SCRIPT)  # the same text in UTF-8, built first
        assert project.snakemake("-j1", "out/ep1.wav").returncode == 0
    episode = (project.path / "out/ep1.wav").read_bytes()
    (project.path / SCRIPT).write_bytes(data)
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe")):
        assert "scripts/ep1.txt: no BOM and not UTF-8; guessed encoding" in result.output
    assert rendered_count(result) == 0  # the same text, so the same segments
    assert (project.path / "out/ep1.wav").read_bytes() == episode


@pytest.mark.slow
def test_symlink_out_of_the_project_is_refused_unless_allowed(project, tmp_path):
    outside = tmp_path / "shared-scripts"
    outside.mkdir()
    (outside / "ep1.txt").write_text(FAKE_SCRIPT, encoding="utf-8")
    (project.path / SCRIPT).unlink()
    os.symlink(outside / "ep1.txt", project.path / SCRIPT)
    refused = project.snakemake("-j1", "out/ep1.wav")
    assert refused.returncode != 0
    assert "config/config.yaml:8: source 'scripts/ep1.txt' is outside the project directory" in (
        _error_line(refused)
    )
    project.write(CONFIG, FAKE_CONFIG + f"allow_outside: [{outside}]\n")
    allowed = project.snakemake("-j1", "out/ep1.wav")
    assert allowed.returncode == 0, allowed.output
    assert rendered_count(allowed) == 0


@pytest.mark.slow
def test_voice_symlink_out_of_the_project_is_refused(project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not a voice")
    (project.path / "voices").mkdir()
    os.symlink(secret, project.path / "voices/alice.txt")
    project.write(
        CONFIG, FAKE_CONFIG.replace("  alice: {params", "  alice: {voice: voices/alice.txt, params")
    )
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode != 0
    assert "config/config.yaml:4: voice 'voices/alice.txt' is outside the project directory" in (
        _error_line(result)
    )


@pytest.mark.slow
def test_failing_segment_keeps_the_others(project):
    shutil.rmtree(project.path / "build/segments")
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_FAIL="today")
    assert result.returncode != 0
    assert "scripts/ep1.txt:6 (alice): engine 'fake' failed: fake failure" in result.output
    assert "Cannot restore" not in result.output  # no line per update()-flagged segment
    assert len(project.segments()) == 5  # every other segment rendered and kept
    resumed = project.snakemake("-j1", "out/ep1.wav")
    assert resumed.returncode == 0, resumed.output
    assert "rendered 1 of 1 segments" in resumed.output


@pytest.mark.slow
def test_nan_audio_is_rejected(project):
    shutil.rmtree(project.path / "build/segments")
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_FAKE_NAN="today")
    assert result.returncode != 0
    assert "scripts/ep1.txt:6 (alice): the engine returned NaN" in result.output
    assert len(project.segments()) == 5


@pytest.mark.slow
def test_keep_going_renders_every_other_batch(project):
    shutil.rmtree(project.path / "build/segments")
    project.write(CONFIG, FAKE_CONFIG + "batch_size: 2\n")  # three render jobs
    result = project.snakemake("-j1", "--keep-going", "out/ep1.wav", TTSBUILD_FAKE_FAIL="Hello")
    assert result.returncode != 0
    # "Hello Bob." and "Hello Alice." fail; the four other segments are rendered and kept.
    assert "scripts/ep1.txt:3 (alice): engine 'fake' failed" in result.output
    assert "scripts/ep1.txt:4 (bob): engine 'fake' failed" in result.output
    assert len(project.segments()) == 4
    resumed = project.snakemake("-j1", "out/ep1.wav")
    assert resumed.returncode == 0, resumed.output
    assert rendered_count(resumed) == 2


@pytest.mark.slow
def test_snakemake_level_failure_is_not_reported_as_success(project):
    """Issue 18 finding 10: after a failure Snakemake reports itself (here: a target no rule
    makes, as with a missing input or a locked directory), neither onsuccess nor onerror runs;
    the at-exit report said "build succeeded" and wrote success: true with exit code 1."""
    import json

    (project.path / "out/ep1.wav").unlink()
    result = project.snakemake("-j1", "out/ep1.wav", "out/nosuch.txt")
    assert result.returncode != 0
    assert "build succeeded" not in result.output
    assert "ttsbuild: build FAILED" in result.output
    report = json.loads((project.path / "out/build-report.json").read_text())
    assert report["success"] is False


def _build_in_process(project: ProjectDir, monkeypatch):
    """The Build the Snakefile makes, in this process (fake engine, project directory)."""
    from ttsbuild import workflow
    from ttsbuild.config.schema import read_config_file

    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    monkeypatch.setenv("TTSBUILD_FAKE_LOADS", str(project.loads_file))
    monkeypatch.chdir(project.path)
    return workflow.Build(read_config_file(project.path / CONFIG, CONFIG), root=str(project.path))


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (28, "no space left on the device; free some space and build again"),  # ENOSPC
        (30, "read-only file system; make it writable"),  # EROFS
    ],
    ids=["disk-full", "read-only"],
)
def test_machine_faults_are_one_line_naming_the_path_and_the_fix(
    project, monkeypatch, caplog, code, fix
):
    """Issue 18 finding 9: ENOSPC or a read-only store gave Snakemake's RuleException and stack
    lines; the rule body now says what happened, where, and what to do (in-process: the rule
    body the Snakefile calls)."""
    import errno
    import logging

    from ttsbuild import workflow
    from ttsbuild.assembly import writer
    from ttsbuild.core.errors import TTSBuildError

    assert errno.errorcode[code] in ("ENOSPC", "EROFS")
    wav = str(project.path / "out/ep1.wav")
    before = (project.path / "out/ep1.wav").read_bytes()

    def fault(path, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(writer, "_write_wav", fault)
    build = _build_in_process(project, monkeypatch)
    args = (build.plan_file("ep1"), wav, "out/ep1.srt", "out/ep1.timing.json")
    with caplog.at_level(logging.ERROR, logger="ttsbuild"), pytest.raises(TTSBuildError) as info:
        workflow.assemble(build, *args)
    assert str(info.value).startswith(f"{wav}: {fix}")
    assert str(info.value).endswith("(stored segments are kept)")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"ttsbuild: error: {info.value}"]
    assert (project.path / "out/ep1.wav").read_bytes() == before  # nothing lost


def test_segment_deleted_or_corrupt_at_assembly_is_one_line(project, monkeypatch, caplog):
    """Finding 9: a segment deleted mid-build, or garbage in its place, is one line naming the
    segment and the fix, not a decoder traceback."""
    import logging

    from ttsbuild import workflow
    from ttsbuild.core.errors import StoreError

    build = _build_in_process(project, monkeypatch)
    segments = sorted((project.path / "build/segments").glob("*.wav"))
    args = (build.plan_file("ep1"), "out/ep1.wav", "out/ep1.srt", "out/ep1.timing.json")
    segments[0].unlink()
    with caplog.at_level(logging.ERROR, logger="ttsbuild"), pytest.raises(StoreError) as missing:
        workflow.assemble(build, *args)
    assert str(missing.value).startswith(f"{segments[0]}: stored segment is missing")
    segments[0].touch()
    segments[0].write_bytes(b"RIFF garbage" * 100)
    with pytest.raises(StoreError) as garbage:
        workflow.assemble(build, *args)
    assert str(garbage.value).startswith(f"{segments[0]}: stored segment is corrupt")
    assert "run 'ttsbuild verify --delete' and build again" in str(garbage.value)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"ttsbuild: error: {missing.value}",
        f"ttsbuild: error: {garbage.value}",
    ]


@pytest.mark.slow
def test_a_target_of_an_unknown_episode_is_one_line_and_keeps_the_reports(project):
    """New-user trial: ``snakemake out/ep9.wav`` for an episode the config does not have was a
    MissingInputException and overwrote a good build-report.json with success: false."""
    report = project.path / "out/build-report.json"
    before = report.read_bytes()
    result = project.snakemake("-j1", "out/ep9.wav")
    assert result.returncode != 0
    assert "out/ep9.wav: no episode 'ep9' in config/config.yaml (episodes: ep1)" in (
        _error_line(result)
    )
    assert "MissingInputException" not in result.output
    assert report.read_bytes() == before
