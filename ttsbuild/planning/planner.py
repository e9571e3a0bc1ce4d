"""Planning: a project and an episode source in, a frozen :class:`EpisodePlan` out.

Everything that changes a segment's sound is resolved here, before hashing: character and
alias, language, engine and its version, voice content hash, parameters (validated, rounded),
seed (given, or derived from content), and the text chunk.

Imports: core, config, sources, engines (their declared info and voices only; nothing loads a
model here) and :mod:`ttsbuild.planning.key` / :mod:`ttsbuild.planning.plan`.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from pathlib import Path

from ttsbuild.config.project import Project
from ttsbuild.config.schema import config_line
from ttsbuild.config.settings import Character, VoiceSetting
from ttsbuild.core.effects import EFFECTS_VERSION, Effect, resolve_chain
from ttsbuild.core.errors import (
    ConfigError,
    EngineError,
    ScriptError,
    VoiceError,
)
from ttsbuild.core.files import MAX_VOICE_BYTES, NotRegularFileError, check_regular
from ttsbuild.core.lexicon import Entry
from ttsbuild.core.numbers import speak_numbers
from ttsbuild.core.request import PostStage, RenderRequest, Voice
from ttsbuild.core.text import chunk_text, hard_cuts, normalize_text
from ttsbuild.engines import Engine, EngineInfo, get_engine
from ttsbuild.engines.runtimes import engine_version
from ttsbuild.planning.breaks import break_silence, merge_breaks
from ttsbuild.planning.key import chain_keys, derive_seed
from ttsbuild.planning.languages import check_script, line_language
from ttsbuild.planning.plan import (
    EpisodePlan,
    PlanItem,
    Segment,
    Silence,
    StageOutput,
    check_timeline,
)
from ttsbuild.planning.sources import check_speakers, episode_items
from ttsbuild.sources import source_format
from ttsbuild.sources.script import NARRATOR, Pause, ScriptItem, Unspoken, Utterance

log = logging.getLogger(__name__)


class Planner:
    """Resolves utterances against a project. Memoizes engines and voices per instance."""

    def __init__(self, project: Project):
        self.project = project
        self._engines: dict[str, tuple[Engine, str]] = {}
        self._voices: dict[tuple[str, str, str], Voice] = {}
        self.lexicon_used: set[Entry] = set()  # entries that changed at least one line
        self.episode_language: str | None = None  # the episode being planned's 'language:'
        self.language_warnings: list[dict[str, object]] = []  # the episode's, this plan
        self.chunk_warnings: list[dict[str, object]] = []  # lines cut inside a word

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
            if reference not in ("", "bundled") and not engine.info.named_voices:
                path = self.project.resolve_path(reference, "voice", key + ".voice")
                try:
                    check_regular(path, MAX_VOICE_BYTES)
                except NotRegularFileError as exc:
                    raise self._config_error(
                        f"{key}: voice file '{reference}' cannot be used: {exc}", key + ".voice"
                    ) from None
                except OSError:
                    raise self._config_error(
                        f"{key}: voice file '{reference}' not found (paths are relative to "
                        f"the project directory {self.project.root})",
                        key + ".voice",
                    ) from None
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
        language = line_language(utt, char, self.episode_language)
        setting = char.for_language(language)
        key = f"characters.{char.name}"
        if setting is not char.setting:
            key = f"{key}.languages.{language}"
        engine, engine_version = self.engine(setting.engine, key + ".engine")
        voice = self.voice(engine, setting, key)
        info = engine.info
        spoken = info.languages if info.languages is not None else engine.voice_languages(voice)
        if language not in spoken:
            raise self._cannot_speak(utt, source, char, info.name, language, spoken)
        shown = f"{info.name} {setting.voice or 'bundled'}"
        warning = check_script(utt, source, char.name, language, shown, p.language_check)
        if warning is not None:
            self.language_warnings.append(warning)
        params, seed_given = self.resolve_params(
            info,
            [
                (setting.params, key + ".params", None, "config"),
                (utt.params, source, utt.line, "script"),
            ],
        )
        seed_param = int(params.pop("seed"))
        post = self.post_stages(char, utt, params.pop("pitch"), source)
        model = engine.model_id(p.engine_options(info.name))
        text, used = self.spoken_text(utt.text, language, char.name)
        chunks = chunk_text(text, p.max_chars)
        self._warn_hard_cuts(utt, source, char.name, hard_cuts(text, chunks))
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
            keys = chain_keys(request, post)
            outputs = tuple(StageOutput(stage, k) for stage, k in zip(post, keys[1:]))
            segments.append(
                Segment(
                    keys[-1],
                    utt.line,
                    index,
                    len(chunks),
                    char.name,
                    request,
                    cue,
                    utt.uid,
                    keys[0] if post else "",
                    outputs,
                    used,
                    utt.note,
                )
            )
        return segments

    def _cannot_speak(
        self,
        utt: Utterance,
        source: str,
        char: Character,
        engine: str,
        language: str,
        spoken: frozenset[str],
    ) -> ScriptError:
        fix = f"give the character a voice for '{language}' under characters.{char.name}.languages"
        if len(spoken) == 1 and not utt.language and not char.language_given:
            only = next(iter(spoken))  # a Kokoro character without its own 'language: ja'
            fix = (
                f"set 'language: {only}' on characters.{char.name} (or tag the line "
                f"[{only}:{char.name}]), or {fix}"
            )
        return ScriptError(
            f"engine '{engine}' cannot speak '{language}' for character '{char.name}' "
            f"(it speaks: {', '.join(sorted(spoken))}); {fix} in {self.project.config_file}",
            source,
            utt.line,
        )

    def _warn_hard_cuts(self, utt: Utterance, source: str, speaker: str, cuts: int) -> None:
        """A line cut inside a word (no space, no punctuation within max_chars): say so."""
        if not cuts:
            return
        message = (
            f"cut {cuts} time(s) inside a word: a run of text with no space or punctuation is "
            f"longer than max_chars ({self.project.max_chars}), so the voice may pause mid-word; "
            "add 。 or 、 where the line may break, or raise max_chars"
        )
        log.warning("ttsbuild: warning: %s:%s: %s", source, utt.line, message)
        self.chunk_warnings.append(
            {"where": f"{source}:{utt.line}", "speaker": speaker, "cuts": cuts, "uid": utt.uid}
        )

    def spoken_text(self, text: str, language: str, character: str) -> tuple[str, tuple[str, ...]]:
        """A line's text as it is spoken (numbers in words, then the lexicon; docs/script.md)
        and what changed it, for ``explain``."""
        p = self.project
        numbers: tuple[tuple[str, str], ...] = ()
        if p.numbers:
            keep = [e.word for e in p.lexicon.applicable(language, character)]
            text, numbers = speak_numbers(text, language, keep)
        text, entries = p.lexicon.apply(text, language, character)
        self.lexicon_used.update(entries)
        used = tuple(f"number '{written}' -> '{said}'" for written, said in numbers)
        return text, used + tuple(e.describe() for e in entries)

    def post_stages(
        self, char: Character, utt: Utterance, pitch: float, source: str
    ) -> tuple[PostStage, ...]:
        """The post stages after synthesis: the effects chain, pitch first (docs/effects.md)."""
        chain: tuple[Effect, ...] = char.effects
        if utt.effects is not None:
            try:
                chain = resolve_chain(utt.effects)
            except ValueError as exc:
                raise ScriptError(str(exc), source, utt.line) from None
        if pitch:
            chain = (Effect.from_dict({"type": "pitch_shift", "semitones": pitch}), *chain)
        stages: list[PostStage] = []
        if char.convert is not None:
            stages.append(self.convert_stage(char))
        if chain:
            stages.append(PostStage("effects", str(EFFECTS_VERSION), chain))
        return tuple(stages)

    def convert_stage(self, char: Character) -> PostStage:
        """Voice conversion to the character's target clip (hashed by content, like voices)."""
        assert char.convert is not None
        key = f"characters.{char.name}.convert"
        engine, version = self.engine(char.convert.engine, key + ".engine")
        if not getattr(engine, "converts", False):
            raise self._config_error(
                f"{key}: engine '{engine.info.name}' is not a voice converter (converters: "
                "chatterbox-vc)",
                key + ".engine",
            )
        setting = VoiceSetting(char.convert.engine, char.convert.voice, "", "", ())
        voice = self.voice(engine, setting, key)
        model = engine.model_id(self.project.engine_options(engine.info.name))
        return PostStage("convert", f"{version} {model}", voice=voice, engine=engine.info.name)

    def default_speaker(self, episode: str) -> str:
        """Who speaks the untagged lines of ``episode`` (its ``speaker:``), as the parser
        writes a speaker: case-folded, ``narrator`` for the narrator."""
        p = self.project
        name = normalize_text(p.episodes[episode].speaker).casefold()
        if name == NARRATOR or name == normalize_text(p.narrator).casefold():
            return NARRATOR
        if p.character(name) is None:
            known = ", ".join(sorted({*p.characters, *p.aliases}))
            raise self._config_error(
                f"episode '{episode}': speaker '{name}' is not a character or alias; known: "
                f"{known}",
                f"episodes.{episode}.speaker",
            )
        return name

    def plan_items(
        self, items: Iterable[ScriptItem], source: str, episode: str | None = None
    ) -> list[PlanItem]:
        out: list[PlanItem] = []
        for item in items:
            if isinstance(item, Pause) and item.kind and episode is not None:
                out.extend(
                    break_silence(self.project, episode, item.line, item.milliseconds, item.kind)
                )
            elif isinstance(item, Pause):
                out.append(Silence(item.line, item.milliseconds))
            elif isinstance(item, Unspoken):
                continue  # no segment: listed under the plan's "missing"
            else:
                out.extend(self.plan_utterance(item, source))
        return merge_breaks(out)

    def plan_subtitles(self, name: str, path: Path) -> EpisodePlan:
        """One segment per cue (:func:`ttsbuild.planning.subtitles.plan_subtitles`)."""
        from ttsbuild.planning.subtitles import plan_subtitles

        return plan_subtitles(self, name, path)

    def plan_episode(self, name: str) -> EpisodePlan:
        p = self.project
        episode = p.episodes.get(name)
        if episode is None:
            raise ConfigError(
                f"unknown episode '{name}'; episodes: {', '.join(sorted(p.episodes))}",
                p.config_file,
            )
        path = p.resolve_path(episode.source, "source", f"episodes.{name}.source")
        self.episode_language, self.language_warnings = episode.language, []
        self.chunk_warnings = []
        if source_format(episode.source, episode.format) == "srt":
            plan = self.plan_subtitles(name, path)
        else:
            items = episode_items(p, name, path, self.default_speaker(name))
            check_speakers(p, items, episode.source)
            missing = [i.to_dict() for i in items if isinstance(i, Unspoken)]
            plan = EpisodePlan(
                name,
                episode.source,
                tuple(self.plan_items(items, episode.source, name)),
                {"missing": missing} if missing else {},
            )
        if not plan.segments():
            raise ScriptError("the episode has nothing to say (no spoken text)", episode.source)
        found = {"language_warnings": self.language_warnings, "chunk_warnings": self.chunk_warnings}
        if any(found.values()):
            extra = {k: v for k, v in found.items() if v}
            plan = EpisodePlan(plan.episode, plan.source, plan.items, {**plan.extra, **extra})
        check_timeline(plan)
        return plan


def plan_project(project: Project) -> dict[str, EpisodePlan]:
    """Plan every episode of a project (raises the first :class:`TTSBuildError`)."""
    planner = Planner(project)
    return {name: planner.plan_episode(name) for name in project.episodes}
