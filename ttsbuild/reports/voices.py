"""The voices a project can use, each checked, and characters that would sound the same.

Used by ``ttsbuild voices`` and ``ttsbuild check``. A voice is the bundled Piper voice, a local
Piper model (``<name>.onnx`` with its ``<name>.onnx.json``) anywhere in the project, or a
reference clip for a voice-cloning engine (an audio file under ``voices/``, or any file a
character names). Each is checked the way a build checks it, through its engine's ``voice()``;
nothing is loaded or rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ttsbuild.config import Project
from ttsbuild.config.settings import VoiceSetting
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.engines import get_engine
from ttsbuild.engines.reference import check_reference, sidecar_path

#: Folders a voice search skips: build outputs and tools' own.
SKIP = {"build", "out", "logs", "benchmarks", ".snakemake", ".git", ".venv", "node_modules"}
CLIP_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3"}


@dataclass
class VoiceEntry:
    engine: str  # the engine that uses it, or "reference" for a clip no character uses yet
    reference: str  # as a character names it: "bundled", or a path relative to the project
    used_by: list[str] = field(default_factory=list)
    problem: str | None = None
    detail: str = ""  # the voice's language, or a clip's length and transcript


def _settings(project: Project) -> Iterator[tuple[str, VoiceSetting]]:
    for name, character in sorted(project.characters.items()):
        yield name, character.setting
        for _, setting in character.languages:
            yield name, setting


def _found(root: Path) -> Iterator[Path]:
    """Piper models anywhere in the project, audio clips under ``voices/``."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP for part in rel.parts[:-1]) or not path.is_file():
            continue
        if path.suffix == ".onnx" or (rel.parts[0] == "voices" and path.suffix in CLIP_SUFFIXES):
            yield rel


def _check(entry: VoiceEntry, project: Project, reference_text: str = "") -> None:
    root = str(project.root)
    try:
        if entry.engine == "reference":
            path = project.root / entry.reference
            audio = check_reference(path, engine="a voice-cloning engine")
            text = "transcript " + str(sidecar_path(Path(entry.reference)))
            if not sidecar_path(path).is_file():
                text = "no transcript (F5-TTS needs one)"
            entry.detail = f"{audio.duration:.1f} s, {text}"
            return
        engine = get_engine(entry.engine)
        voice = engine.voice(entry.reference, reference_text, root)
        check = getattr(engine, "check_voice", None)  # an engine that can load a voice cheaply
        if check is not None and entry.reference != "bundled":
            check(voice, entry.reference)
        languages = ", ".join(sorted(engine.voice_languages(voice))) or "any language"
        entry.detail = f"speaks {languages}"
    except TTSBuildError as exc:
        entry.problem = str(exc)


def project_voices(project: Project) -> list[VoiceEntry]:
    """Every voice the project uses or could use, checked, in a stable order."""
    entries: dict[tuple[str, str], VoiceEntry] = {}
    texts: dict[tuple[str, str], str] = {}
    for name, setting in _settings(project):
        reference = setting.voice or "bundled"
        key = (setting.engine, reference)
        entry = entries.setdefault(key, VoiceEntry(setting.engine, reference))
        if name not in entry.used_by:
            entry.used_by.append(name)
        texts.setdefault(key, setting.reference_text)
    used_paths = {ref for _, ref in entries}
    entries.setdefault(("piper", "bundled"), VoiceEntry("piper", "bundled"))
    for rel in _found(project.root):
        if rel.as_posix() in used_paths:
            continue
        engine = "piper" if rel.suffix == ".onnx" else "reference"
        entries.setdefault((engine, rel.as_posix()), VoiceEntry(engine, rel.as_posix()))
    for key, entry in entries.items():
        _check(entry, project, texts.get(key, ""))
    return sorted(entries.values(), key=lambda e: (not e.used_by, e.engine, e.reference))


def _voice_identity(setting: VoiceSetting, project: Project) -> str:
    """The voice's content hash (two copies of one model are one voice), else its name."""
    try:
        voice = get_engine(setting.engine).voice(
            setting.voice, setting.reference_text, str(project.root)
        )
        return voice.content_hash
    except TTSBuildError:  # reported by the planner, with the line that uses it
        return setting.voice or "bundled"


def identical_characters(project: Project) -> list[list[str]]:
    """Groups of characters that would sound identical: same engine, voice (by content),
    parameters, language settings, effects and voice conversion (aliases are not
    characters)."""
    groups: dict[object, list[str]] = {}
    for name, character in sorted(project.characters.items()):
        setting = character.setting
        voice = _voice_identity(setting, project)
        key = (
            setting.engine,
            voice,
            setting.reference_text,
            setting.language,
            setting.params,
            character.languages,
            character.effects,
            character.convert,
        )
        groups.setdefault(key, []).append(name)
    return [names for names in groups.values() if len(names) > 1]
