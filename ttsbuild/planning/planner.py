"""Planning: a project and an episode source in, a frozen :class:`EpisodePlan` out.

Everything that changes a segment's sound is resolved here, before hashing: character and
alias, language, engine and its version, voice content hash, parameters (validated, rounded),
seed (given, or derived from content), and the text chunk.

Imports: core, config, sources, engines (their declared info and voices only; nothing loads a
model here) and :mod:`ttsbuild.planning.key` / :mod:`ttsbuild.planning.plan`.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import logging
from collections.abc import Iterable
from pathlib import Path

from ttsbuild.config.project import Project
from ttsbuild.config.schema import config_line
from ttsbuild.config.settings import Character, VoiceSetting
from ttsbuild.core.errors import (
    ConfigError,
    EngineError,
    ScriptError,
    SubtitleError,
    VoiceError,
)
from ttsbuild.core.request import RenderRequest, Voice
from ttsbuild.core.text import chunk_text
from ttsbuild.engines import Engine, EngineInfo, get_engine
from ttsbuild.engines.runtimes import engine_version
from ttsbuild.planning.key import derive_seed, segment_key
from ttsbuild.planning.plan import EpisodePlan, PlanItem, Segment, Silence
from ttsbuild.sources.script import Pause, ScriptItem, Utterance, parse_script, read_script
from ttsbuild.sources.subtitles import known_names, read_subtitles, subtitle_script

log = logging.getLogger(__name__)


class Planner:
    """Resolves utterances against a project. Memoizes engines and voices per instance."""

    def __init__(self, project: Project):
        self.project = project
        self._engines: dict[str, tuple[Engine, str]] = {}
        self._voices: dict[tuple[str, str, str], Voice] = {}

    # -- helpers that turn lower-level errors into located ones
    def _config_error(self, message: str, key: str) -> ConfigError:
        p = self.project
        return ConfigError(message, p.config_file, config_line(p.root / p.config_file, key))

    def engine(self, name: str, key: str) -> tuple[Engine, str]:
        if name not in self._engines:
            try:
                engine = get_engine(name)
                runtime = self.project.runtimes.get(name)
                # An engine in its own runtime is not installed here: its runtime says its version.
                found = engine_version(name, runtime) if runtime else engine.version()
                self._engines[name] = (engine, found)
            except EngineError as exc:
                p = self.project
                if config_line(p.root / p.config_file, key, exact=True) is None:
                    key = "engine"  # the character uses the top-level engine
                raise self._config_error(str(exc), key) from None
        return self._engines[name]

    def voice(self, engine: Engine, setting: VoiceSetting, key: str) -> Voice:
        memo = (engine.info.name, setting.voice, setting.reference_text)
        if memo not in self._voices:
            reference = setting.voice
            if reference not in ("", "bundled"):
                path = self.project.resolve_path(reference, "voice", key + ".voice")
                if not path.is_file():
                    raise self._config_error(
                        f"{key}: voice file '{reference}' not found (paths are relative to "
                        f"the project directory {self.project.root})",
                        key + ".voice",
                    )
                reference = str(path)
            elif engine.info.needs_reference_audio:
                raise self._config_error(
                    f"engine '{engine.info.name}' needs a reference audio file: set "
                    f"'voice:' for {key}",
                    key,
                )
            try:
                self._voices[memo] = engine.voice(
                    reference, setting.reference_text, str(self.project.root)
                )
            except VoiceError as exc:
                raise self._config_error(f"{key}: {exc.bare_message}", key + ".voice") from None
        return self._voices[memo]

    def character(self, utt: Utterance, source: str) -> Character:
        p = self.project
        name = p.narrator if utt.speaker == "narrator" else utt.speaker
        char = p.character(name)
        if char is None and utt.speaker == "narrator":
            raise ScriptError(
                f"this line is spoken by the narrator, '{p.narrator}', which is not a character; "
                f"add it under 'characters:' or set 'narrator:' in {p.config_file}",
                source,
                utt.line,
            )
        if char is None:
            known = sorted({*p.characters, *p.aliases})
            hint = difflib.get_close_matches(utt.speaker, known, n=1)
            did = f"did you mean '{hint[0]}'? " if hint else ""
            raise ScriptError(
                f"unknown character '{utt.speaker}'; {did}known: {', '.join(known)} "
                f"(add it under 'characters:' in {p.config_file})",
                source,
                utt.line,
            )
        return char

    def resolve_params(
        self,
        info: EngineInfo,
        layers: Iterable[tuple[tuple[tuple[str, float], ...], str, int | None, str]],
    ) -> tuple[dict[str, float], bool]:
        """Merge parameter layers (character, then line); validate names and ranges."""
        specs = info.param_specs()
        merged: dict[str, float] = {}
        seed_given = False
        for params, where, line, kind in layers:
            for name, value in params:
                spec = specs.get(name)
                if spec is None:
                    allowed = ", ".join(sorted(specs))
                    msg = f"unknown parameter '{name}' for engine '{info.name}'; allowed: {allowed}"
                    if kind == "config":
                        raise self._config_error(msg, where)
                    raise ScriptError(msg, where, line)
                if not spec.minimum <= value <= spec.maximum:
                    msg = (
                        f"parameter '{name}' = {value:g} is out of range for engine "
                        f"'{info.name}' ({spec.minimum:g} to {spec.maximum:g})"
                    )
                    if kind == "config":
                        raise self._config_error(msg, where)
                    raise ScriptError(msg, where, line)
                merged[name] = spec.resolve(value)
                seed_given = seed_given or name == "seed"
        for name, spec in specs.items():
            if name not in merged:
                merged[name] = spec.resolve(None)
        return merged, seed_given

    def plan_utterance(self, utt: Utterance, source: str, cue: int | None = None) -> list[Segment]:
        p = self.project
        char = self.character(utt, source)
        language = (utt.language or char.setting.language).lower()
        setting = char.for_language(language)
        key = f"characters.{char.name}"
        if setting is not char.setting:
            key = f"{key}.languages.{language}"
        engine, engine_version = self.engine(setting.engine, key + ".engine")
        voice = self.voice(engine, setting, key)
        info = engine.info
        spoken = info.languages if info.languages is not None else engine.voice_languages(voice)
        if language not in spoken:
            raise ScriptError(
                f"engine '{info.name}' cannot speak '{language}' for character '{char.name}' "
                f"(it speaks: {', '.join(sorted(spoken))}); give the character a voice for "
                f"'{language}' under characters.{char.name}.languages in {p.config_file}",
                source,
                utt.line,
            )
        params, seed_given = self.resolve_params(
            info,
            [
                (setting.params, key + ".params", None, "config"),
                (utt.params, source, utt.line, "script"),
            ],
        )
        seed_param = int(params.pop("seed"))
        model = engine.model_id(p.engine_options(info.name))
        chunks = chunk_text(utt.text, p.max_chars)
        segments: list[Segment] = []
        for index, text in enumerate(chunks):
            seed = (
                seed_param
                if seed_given
                else derive_seed(text, info.name, model, language, voice.content_hash)
            )
            request = RenderRequest(
                text=text,
                engine=info.name,
                engine_version=engine_version,
                model=model,
                language=language,
                voice=voice,
                params=tuple(sorted(params.items())),
                seed=seed,
            )
            segments.append(
                Segment(segment_key(request), utt.line, index, len(chunks), char.name, request, cue)
            )
        return segments

    def plan_items(self, items: Iterable[ScriptItem], source: str) -> list[PlanItem]:
        out: list[PlanItem] = []
        for item in items:
            if isinstance(item, Pause):
                out.append(Silence(item.line, item.milliseconds))
            else:
                out.extend(self.plan_utterance(item, source))
        return out

    def plan_subtitles(self, name: str, path: Path) -> EpisodePlan:
        """One segment per cue (chunked if long); cue times and timing options go to ``extra``.

        The timing mode never reaches a segment's request, so switching it re-renders nothing.
        """
        p = self.project
        episode = p.episodes[name]
        if episode.encoding:
            try:
                codecs.lookup(episode.encoding)
            except LookupError:
                raise self._config_error(
                    f"episode '{name}': unknown text encoding '{episode.encoding}' "
                    "(e.g. utf-8, cp1252, cp1250, latin-1)",
                    f"episodes.{name}.encoding",
                ) from None
        subs = read_subtitles(path, episode.source, episode.encoding)
        names = known_names(p.characters, p.aliases) | {p.narrator}
        script, texts = subtitle_script(subs.cues, names, episode.skip_sound_descriptions)

        def located(cue_index: int, exc: ScriptError) -> SubtitleError:
            cue = subs.cues[cue_index - 1]
            return SubtitleError(
                f"cue {cue.number or cue.index}: {exc.bare_message}", episode.source, cue.line + 1
            )

        try:
            parsed = parse_script(script, episode.source)
        except ScriptError as exc:
            raise located(exc.line or 1, exc) from None
        for cue, text in zip(subs.cues, texts):
            for description in text.descriptions:
                close = difflib.get_close_matches(description.casefold(), sorted(names), 1, 0.8)
                if close:
                    log.warning(
                        "ttsbuild: %s:%d: cue %d: [%s] is not a known character, so it is "
                        "treated as a sound description; did you mean '%s'?",
                        episode.source,
                        cue.line + 1,
                        cue.number or cue.index,
                        description,
                        close[0],
                    )
        by_cue: dict[int, list[ScriptItem]] = {}
        for item in parsed:
            by_cue.setdefault(item.line, []).append(item)
        items: list[PlanItem] = []
        for cue in subs.cues:
            cue_items = by_cue.get(cue.index, [])
            if not any(isinstance(i, Utterance) for i in cue_items):
                continue  # nothing to speak: the cue keeps its timing and renders nothing
            for item in cue_items:
                if isinstance(item, Pause):
                    items.append(Silence(cue.line + 1, item.milliseconds, cue.index))
                    continue
                utt = dataclasses.replace(item, line=cue.line + 1)
                try:
                    items.extend(self.plan_utterance(utt, episode.source, cue.index))
                except ScriptError as exc:
                    raise located(cue.index, exc) from None
        extra = {
            "srt": {
                "encoding": subs.encoding,
                "timing": episode.timing.to_dict(),
                "cues": [
                    {
                        "cue": cue.index,
                        "number": cue.number,
                        "line": cue.line,
                        "start_ms": cue.start_ms,
                        "end_ms": cue.end_ms,
                        "display": text.display,
                        "descriptions": list(text.descriptions),
                    }
                    for cue, text in zip(subs.cues, texts)
                ],
            }
        }
        return EpisodePlan(name, episode.source, tuple(items), extra)

    def plan_episode(self, name: str) -> EpisodePlan:
        p = self.project
        episode = p.episodes.get(name)
        if episode is None:
            raise ConfigError(
                f"unknown episode '{name}'; episodes: {', '.join(sorted(p.episodes))}",
                p.config_file,
            )
        path = p.resolve_path(episode.source, "source", f"episodes.{name}.source")
        suffix = Path(episode.source).suffix.lower()
        if suffix in (".txt", ".script", ""):
            items = self.plan_items(read_script(path, episode.source), episode.source)
            plan = EpisodePlan(name, episode.source, tuple(items))
        elif suffix == ".srt":
            plan = self.plan_subtitles(name, path)
        else:
            raise self._config_error(
                f"episode '{name}': unsupported source type '{suffix}' (use a .txt script or "
                "an .srt subtitle file)",
                f"episodes.{name}.source",
            )
        if not plan.segments():
            raise ScriptError("the episode has nothing to say (no spoken text)", episode.source)
        return plan


def plan_project(project: Project) -> dict[str, EpisodePlan]:
    """Plan every episode of a project (raises the first :class:`TTSBuildError`)."""
    planner = Planner(project)
    return {name: planner.plan_episode(name) for name in project.episodes}
