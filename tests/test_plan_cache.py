"""Plans reused only while nothing planning looked at has changed (ttsbuild/workflow/plan_cache.py).

Each check plans in a fresh process, as the Snakefile does (tests/plan_probe.py), and compares
the plans it reused or made with the plans of a fresh planning (the cache file removed).
Edits come in the ways a cache could miss: the same size and the old mtime put back (as
``tar`` or ``rsync -t`` restore a file), a lexicon file, an engine plugin's code, the
environment, a subprocess during planning. The recorder itself is checked against ``strace``:
every file the process touches while it plans is recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_breaks_workflow import tone
from ttsbuild.config.schema import SCHEMA_PATH
from ttsbuild.workflow import plan_cache
from ttsbuild.workflow.lock import STATE_DIR

PROBE = Path(__file__).with_name("plan_probe.py")

CONFIG = """\
engine: fake
max_chars: 60
lexicon_file: lexicon.yaml
characters:
  narrator: {}
  alice: {voice: voices/alice.txt, params: {speed: 1.1}}
episodes:
  ep1: {source: scripts/ep1.txt}
  ep2: {source: scripts/ep2.srt}
  play:
    source: scripts/play.fountain
    breaks: {scene_headings: {pause_ms: 800, sound: sounds/sting.wav}}
  lines: {source: scripts/lines.csv}
"""

FOUNTAIN = "Title: Harbour\n\nINT. HARBOUR - NIGHT\n\nALICE\nThe lamp is out.\n\n"
TABLE = 'id,character,text\nl_01,alice,"A line from the table."\n'


SCRIPT = """\
The narrator opens the scene at 10 past 9.
[alice] Hello Nguyen, this is line two.
[pause:500ms]
[alice] Wordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordword.
"""

SRT = "1\n00:00:01,000 --> 00:00:02,500\n[alice] A cue from the subtitles.\n\n"


def probe(root: Path, env: dict[str, str], marks: str = "") -> dict:
    extra = {"PLAN_PROBE_MARKS": marks} if marks else {}
    proc = subprocess.run(
        [sys.executable, str(PROBE)],
        cwd=root,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr
    return result


def fresh(root: Path, env: dict[str, str]) -> dict:
    """The plans of a planning that reuses nothing."""
    (root / STATE_DIR / plan_cache.CACHE_FILE).unlink(missing_ok=True)
    result = probe(root, env)
    assert not result["reused"]
    return result


def backdated(path: Path, text: str) -> None:
    """Write ``text`` and put the old mtime and atime back (same size: only ctime shows it)."""
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.fixture
def project(make_project):
    p = make_project(CONFIG, SCRIPT)
    p.write("lexicon.yaml", "Nguyen: Nujen\n")
    p.write("voices/alice.txt", "a fake voice for alice\n")
    p.write("scripts/ep2.srt", SRT)
    p.write("scripts/play.fountain", FOUNTAIN)
    p.write("scripts/lines.csv", TABLE)
    (p.path / "sounds").mkdir()
    tone(p.path / "sounds/sting.wav", 440.0, 0.3)
    return p


def test_unchanged_project_reuses_its_plans_and_an_edit_plans_again(project):
    env = project.env()
    first = probe(project.path, env)
    assert not first["reused"]
    second = probe(project.path, env)
    assert second["reused"], "an unchanged project was planned again"
    assert second["plans"] == first["plans"]
    assert second["project"] == first["project"]  # from the validations it kept
    kept = json.loads((project.path / STATE_DIR / plan_cache.CACHE_FILE).read_text("utf-8"))
    assert "S" + str(SCHEMA_PATH) in kept["seen"]  # the validations' own input
    assert any(k.startswith("config:") for k in kept["validations"])
    # the cut inside a word is warned about again when the plans are reused
    assert "inside a word" in first["stderr"] and "inside a word" in second["stderr"]

    script = project.path / "scripts/ep1.txt"
    backdated(script, SCRIPT.replace("line two", "line 2ne"))  # same size, same mtime
    third = probe(project.path, env)
    assert not third["reused"], "a same-size edit with the old mtime put back was not seen"
    assert third["plans"] != first["plans"]
    assert third["plans"] == fresh(project.path, env)["plans"]


@pytest.mark.parametrize(
    "change",
    [
        "lexicon_file",
        "voice_file",
        "config",
        "environment",
        "srt_backdated",
        "new_episode_file",
        "break_sound",
        "break_sound_backdated",
        "table_backdated",
    ],
)
def test_each_kind_of_input_is_seen(project, change):
    env = project.env()
    before = probe(project.path, env)
    assert probe(project.path, env)["reused"]
    root = project.path
    if change == "lexicon_file":
        (root / "lexicon.yaml").write_text("Nguyen: Win\n", encoding="utf-8")
    elif change == "voice_file":
        (root / "voices/alice.txt").write_text("another voice\n", encoding="utf-8")
    elif change == "config":
        (root / "config/config.yaml").write_text(CONFIG.replace("1.1", "1.2"), encoding="utf-8")
    elif change == "environment":  # the fake engine's plugin table: same engine, other name
        env = dict(env, TTSBUILD_ENGINE_PLUGINS=env["TTSBUILD_ENGINE_PLUGINS"] + ",x=a:B")
    elif change == "srt_backdated":
        backdated(root / "scripts/ep2.srt", SRT.replace("A cue", "B cue"))
    elif change == "break_sound":  # what the sound file holds (hashed into the plan)
        tone(root / "sounds/sting.wav", 550.0, 0.3)
    elif change == "break_sound_backdated":  # hashed: the hash cache must see it too
        sting = root / "sounds/sting.wav"
        before_stat = sting.stat()
        tone(sting, 550.0, 0.3)
        os.utime(sting, ns=(before_stat.st_atime_ns, before_stat.st_mtime_ns))
        assert sting.stat().st_size == before_stat.st_size
    elif change == "table_backdated":
        backdated(root / "scripts/lines.csv", TABLE.replace("A line", "B line"))
    elif change == "new_episode_file":  # the config names a file that appears later
        (root / "config/config.yaml").write_text(
            CONFIG + "  ep3: {source: scripts/ep3.txt}\n", encoding="utf-8"
        )
        failed = subprocess.run(
            [sys.executable, str(PROBE)], cwd=root, env=env, capture_output=True, text=True
        )
        assert failed.returncode != 0 and "ep3.txt" in failed.stderr
        (root / "scripts/ep3.txt").write_text("A third episode.\n", encoding="utf-8")
    after = probe(root, env)
    assert not after["reused"], f"{change}: the plans were reused"
    if change != "environment":
        assert after["plans"] != before["plans"], f"{change}: the test changed nothing"
    assert after["plans"] == fresh(root, env)["plans"]


PLUGIN = """\
from tests.fake_engine import FakeEngine


class Engine(FakeEngine):
    def version(self) -> str:
        return "{version}"
"""


def test_engine_plugin_code_is_an_input(project):
    """The engine's version goes into every key: an edit of the plugin's code re-plans."""
    root = project.path
    (root / "myengine.py").write_text(PLUGIN.format(version="one==1"), encoding="utf-8")
    pythonpath = os.pathsep.join([str(root), project.env()["PYTHONPATH"]])
    env = project.env(TTSBUILD_ENGINE_PLUGINS="fake=myengine:Engine", PYTHONPATH=pythonpath)
    first = probe(root, env)
    assert probe(root, env)["reused"]
    (root / "myengine.py").write_text(PLUGIN.format(version="one==2"), encoding="utf-8")
    after = probe(root, env)
    assert not after["reused"]
    versions = {
        s["request"]["engine_version"] for s in after["plans"]["ep1"]["items"] if "key" in s
    }
    assert versions == {"one==2"} and after["plans"] != first["plans"]


def test_a_subprocess_while_planning_keeps_nothing(project):
    """What a subprocess says is not a file's status: such plans are never reused."""
    root = project.path
    code = PLUGIN.format(version="x").replace(
        'return "x"',
        'import subprocess\n        return subprocess.check_output(["echo", "v"]).decode()',
    )
    (root / "myengine.py").write_text(code, encoding="utf-8")
    pythonpath = os.pathsep.join([str(root), project.env()["PYTHONPATH"]])
    env = project.env(TTSBUILD_ENGINE_PLUGINS="fake=myengine:Engine", PYTHONPATH=pythonpath)
    probe(root, env)
    assert not (root / STATE_DIR / plan_cache.CACHE_FILE).exists()
    assert not probe(root, env)["reused"]


def test_a_plan_file_changed_since_is_planned_again(project):
    env = project.env()
    first = probe(project.path, env)
    plan = project.path / "build/plans/ep1.json"
    plan.write_text(plan.read_text().replace("narrator", "NARRATOR"), encoding="utf-8")
    again = probe(project.path, env)
    assert not again["reused"] and again["plans"] == first["plans"]
    assert "NARRATOR" not in plan.read_text()


def test_a_broken_cache_file_is_a_plain_replan(project):
    env = project.env()
    first = probe(project.path, env)
    cache = project.path / STATE_DIR / plan_cache.CACHE_FILE
    for text in ("{", '{"version": 1}', json.dumps({"version": 99}), "[]"):
        cache.write_text(text, encoding="utf-8")
        again = probe(project.path, env)
        assert not again["reused"] and again["plans"] == first["plans"]


def test_a_kept_plan_that_cannot_be_read_back_is_a_plain_replan(project):
    """An entry whose plan file is not a plan (hand-edited, or another file with the status
    the entry holds): planned again, never an internal error."""
    env = project.env()
    first = probe(project.path, env)
    cache = project.path / STATE_DIR / plan_cache.CACHE_FILE
    entry = json.loads(cache.read_text("utf-8"))
    other = project.path / "lexicon.yaml"
    entry["plans"]["ep1"] = [str(other), list(plan_cache.status(str(other)))]
    cache.write_text(json.dumps(entry), encoding="utf-8")
    again = probe(project.path, env)
    assert not again["reused"] and again["plans"] == first["plans"]


def test_configs_that_json_would_write_alike_never_share_plans(project, tmp_path):
    """adv: a lexicon key null and "null" were one cache key (JSON writes both "null"), so a
    config given on the command line (not a recorded file) reused the other one's plans; a
    number as a key next to names crashed every build in the key."""
    key = plan_cache.cache_key
    plain = key({"lexicon": {"null": "zebra"}}, tmp_path, "c.yaml")
    assert plain is not None
    for odd in ({None: "zebra"}, {True: "x"}, {1: "x", "a": "y"}, {"d": dt.date(2026, 12, 4)}):
        assert key({"lexicon": odd}, tmp_path, "c.yaml") is None, odd
    assert key({"a": 1, "b": 2}, tmp_path, "c") != key({"b": 2, "a": 1}, tmp_path, "c")
    root = project.path
    env = project.env()
    config = root / "config/config.yaml"
    config.write_text(CONFIG.replace("  alice:", "  1: bob\n  alice:"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(PROBE)], cwd=root, env=env, capture_output=True, text=True
    )
    assert "internal error" not in proc.stderr and "TypeError" not in proc.stderr, proc.stderr
    assert not (root / STATE_DIR / plan_cache.CACHE_FILE).exists()


def test_a_file_changed_just_before_planning_is_not_vouched_for(project):
    """Racy statuses: a file whose ctime is within the margin before planning began could be
    edited again inside the same timestamp tick, so the plans are not kept; once the file is
    older than the margin they are."""
    env = project.env(PLAN_PROBE_RACY_NS=str(1_000_000_000))
    (project.path / "scripts/ep1.txt").write_text(SCRIPT + "One more.\n", encoding="utf-8")
    probe(project.path, env)
    assert not (project.path / STATE_DIR / plan_cache.CACHE_FILE).exists()
    time.sleep(1.1)
    first = probe(project.path, env)
    assert not first["reused"] and probe(project.path, env)["reused"]


# --- the recorder against strace -----------------------------------------------------------

_SYSCALL = re.compile(r'^(?:\d+ +)?(\w+)\((?:AT_FDCWD, |\d+, )?"([^"]*)".*\) = (-?\d+)(?: (\w+))?')
# Touched while planning but not inputs of a plan: the kernel's and the C library's files.
_SYSTEM = ("/proc/", "/sys/", "/dev/", "/etc/ld.so", "/etc/localtime", "/usr/lib/locale/")


_SHARED_LIBRARY = re.compile(r"\.so(\.\d+)*$")


def _covered(path: str, ok: bool, seen: set[str], listed: set[str]) -> bool:
    if path in seen or path.startswith(_SYSTEM):
        return True
    if _SHARED_LIBRARY.search(path) and path not in seen and "/site-packages/" not in path:
        return True  # a C library the loader opens for an extension module (that one is recorded)
    parent = os.path.dirname(path)
    if not ok and parent in listed:  # a module looked for and not there: its folder's entries
        return True
    if os.path.basename(parent) == "__pycache__":  # compiled code: its source is recorded
        source = os.path.join(os.path.dirname(parent), path.rsplit("/", 1)[1].split(".")[0])
        return source + ".py" in seen
    return False


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_recorder_sees_every_file_the_process_touches_while_planning(project, tmp_path):
    """Planning with a lexicon file, a voice file, a script and a subtitle episode, under
    strace: every path a system call names between the window's marks is recorded (or is
    a module looked for and not found, in a folder whose entries are recorded)."""
    log, marks = tmp_path / "strace.log", str(tmp_path / "mark")
    cmd = ["strace", "-f", "-qq", "-e", "trace=%file", "-o", str(log), sys.executable]
    env = {**project.env(), "PLAN_PROBE_MARKS": marks}
    proc = subprocess.run(
        [*cmd, str(PROBE)], cwd=project.path, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip(f"strace cannot trace here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    recorded = json.loads(Path(marks + ".seen.json").read_text())
    assert recorded["refused"] == ""
    seen = {tag[1:] for tag in recorded["seen"]} | set(recorded["excluded"])
    listed = {tag[1:] for tag in recorded["seen"] if tag[0] == "D"}
    lines = log.read_text().splitlines()
    begin = next(i for i, ln in enumerate(lines) if marks + "-begin" in ln)
    end = next(i for i, ln in enumerate(lines) if marks + "-end" in ln)
    touched: dict[str, bool] = {}
    for line in lines[begin + 1 : end]:
        m = _SYSCALL.match(line)
        if m is None or not m.group(2):
            continue
        path = os.path.normpath(os.path.join(project.path, m.group(2)))
        touched[path] = touched.get(path, False) or int(m.group(3)) >= 0
    assert len(touched) > 20, f"the strace log looks empty: {lines[begin:end][:5]}"
    missed = sorted(p for p, ok in touched.items() if not _covered(p, ok, seen, listed))
    assert not missed, f"touched while planning but not recorded: {missed[:20]}"
    names = {os.path.basename(p) for p in touched}
    assert {"ep1.txt", "ep2.srt", "play.fountain", "lines.csv", "sting.wav"} <= names
    assert {"lexicon.yaml", "alice.txt"} <= names
