"""Project configuration: schema validation with defaults, clear errors, frozen values."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .engines.base import EngineOptions
from .errors import ConfigError
from .qa import QASettings
from .srt_timing import TimingOptions

SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG_FILE = "config/config.yaml"


@dataclass(frozen=True)
class VoiceSetting:
    engine: str
    voice: str
    reference_text: str
    language: str
    params: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Character:
    name: str
    setting: VoiceSetting
    languages: tuple[tuple[str, VoiceSetting], ...] = ()

    def for_language(self, language: str) -> VoiceSetting:
        """The voice setting for ``language``: a per-language override, else the default."""
        for lang, setting in self.languages:
            if lang == language:
                return setting
        return self.setting


@dataclass(frozen=True)
class Episode:
    name: str
    source: str
    title: str = ""
    # Subtitle (.srt) sources only: how cues are timed, how the file is decoded, and whether
    # sound descriptions like [door slams] or (laughs) are left unspoken.
    timing: TimingOptions = field(default_factory=TimingOptions)
    encoding: str | None = None
    skip_sound_descriptions: bool = True


@dataclass(frozen=True)
class OutputSettings:
    sample_rate: int = 24000
    gap_ms: float = 350
    chunk_gap_ms: float = 150
    padding_ms: float = 250
    fade_ms: float = 5
    trim_db: float = -50
    loudness_lufs: float | None = -16
    peak_dbfs: float = -1

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputSettings:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class RenderServerSettings:
    mode: str = "use"  # off | use (if running) | on (required) | auto (start on demand)
    idle_seconds: float = 900.0


@dataclass(frozen=True)
class Project:
    root: Path
    config_file: str
    engine: str
    language: str
    narrator: str
    store: Path
    allow_outside: tuple[Path, ...]
    max_chars: int
    batch_size: int
    output: OutputSettings
    render_server: RenderServerSettings = RenderServerSettings()
    qa: QASettings = QASettings()
    engines: Mapping[str, EngineOptions] = field(default_factory=dict)
    resources: Mapping[str, Mapping[str, int | str]] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    characters: Mapping[str, Character] = field(default_factory=dict)
    episodes: Mapping[str, Episode] = field(default_factory=dict)

    def engine_options(self, engine: str) -> EngineOptions:
        return self.engines.get(engine, EngineOptions())

    def character(self, name: str) -> Character | None:
        key = name.casefold()
        key = self.aliases.get(key, key)
        return self.characters.get(key)

    def resolve_path(self, relative: str, what: str, key: str | None = None) -> Path:
        """A path from config, relative to the project; it may not escape the project
        (nor the folders in ``allow_outside``)."""
        path = (self.root / relative).resolve()
        allowed = (self.root.resolve(), *self.allow_outside)
        if not any(path == base or base in path.parents for base in allowed):
            raise ConfigError(
                f"{what} {relative!r} is outside the project directory; list its folder under "
                "'allow_outside:' to allow it",
                self.config_file,
                config_line(self.root / self.config_file, key) if key else None,
            )
        return path


# ---------------------------------------------------------------- validation


def load_schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _validator_with_defaults() -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator

    def set_defaults(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": set_defaults})


def config_line(config_path: Path, key_path: str | None, exact: bool = False) -> int | None:
    """The line of a dotted key in a YAML file (for error messages), or None.

    Without ``exact``, a key that is not there gives the line of its closest parent.
    """
    if not key_path:
        return None
    try:
        node = yaml.compose(config_path.read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in key_path.split("."):
        if not isinstance(node, yaml.MappingNode):
            return None if exact else line
        for k, v in node.value:
            if str(k.value) == part or str(k.value).casefold() == part.casefold():
                line, node = k.start_mark.line + 1, v
                break
        else:
            return None if exact else line
    return line


def _error_message(error: Any) -> tuple[str, str]:
    path = ".".join(str(p) for p in error.absolute_path)
    where = f"'{path}'" if path else "the top level"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        bad = extra[0] if extra else "?"
        hint = difflib.get_close_matches(str(bad), allowed, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(allowed)})"
        key = f"{path}.{bad}" if path else str(bad)
        return key, f"unknown key '{bad}' in {where}{suggestion}"
    if error.validator == "required":
        return path, f"{where} is missing {error.message.split(' is a required')[0]}"
    return path, f"{where}: {error.message}"


def _with_engine_defaults(configured: Mapping[str, Any]) -> dict[str, Any]:
    """Every known engine's options: configured ones as validated, the others with the schema's
    defaults for ``engines.<name>`` (so an engine not named under ``engines:`` still gets, e.g.,
    its default ``batch_size``; the schema stays the one source of defaults)."""
    from .engines import known_engines

    schema = load_schema()["properties"]["engines"]["additionalProperties"]
    out = dict(configured)
    for name in known_engines():
        if name not in out:
            filled: dict[str, Any] = {}
            _validator_with_defaults()(schema).validate(filled)
            out[name] = filled
    return out


def validate_config(config: dict[str, Any], config_file: str, config_path: Path | None) -> None:
    """Validate in place against the schema, filling defaults. Raises ConfigError."""
    validator = _validator_with_defaults()(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        key, message = _error_message(errors[0])
        line = config_line(config_path, key) if config_path else None
        raise ConfigError(message, config_file, line)


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            try:
                key = self.construct_object(key_node, deep=deep)
                hash(key)
            except (TypeError, yaml.YAMLError):
                continue  # reported by the base constructor
            line = key_node.start_mark.line + 1
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key '{key}' is given twice (first on line {first[key]}); keep one",
                    key_node.start_mark,
                )
            first[key] = line
        return super().construct_mapping(node, deep=deep)


def safe_load_yaml(text: str) -> Any:
    """Safe-load YAML (no tags that build Python objects) and reject duplicate keys."""
    return yaml.load(text, Loader=_StrictLoader)  # safe: _StrictLoader is a SafeLoader


def read_config_file(path: Path, shown: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found (create config/config.yaml)", shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", shown) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the config as UTF-8",
            shown,
            data[: exc.start].count(b"\n") + 1,
        ) from None
    try:
        data = safe_load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", shown, mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(
            f"the config is {kind}: it must map keys to values (characters:, episodes:, ...)",
            shown,
        )
    return data


def _voice_setting(data: Mapping[str, Any], top: Mapping[str, Any]) -> VoiceSetting:
    params = {str(k).lower(): float(v) for k, v in (data.get("params") or {}).items()}
    return VoiceSetting(
        engine=str(data.get("engine", top["engine"])),
        voice=str(data.get("voice", "")),
        reference_text=str(data.get("reference_text", "")),
        language=str(data.get("language", top["language"])).lower(),
        params=tuple(sorted(params.items())),
    )


def project_from_config(
    config: dict[str, Any], root: str | Path = ".", config_file: str = DEFAULT_CONFIG_FILE
) -> Project:
    """Validate a loaded config (defaults filled in place) and build the :class:`Project`."""
    root = Path(root).resolve()
    validate_config(config, config_file, root / config_file)
    characters: dict[str, Character] = {}
    for name, data in config["characters"].items():
        key = str(name).casefold()
        if key in characters:
            raise ConfigError(
                f"character '{name}' is listed twice (names are case-insensitive)",
                config_file,
                config_line(root / config_file, f"characters.{name}"),
            )
        base = _voice_setting(data, config)
        langs = tuple(
            sorted(
                (str(lang).lower(), _voice_setting({**data, **override}, config))
                for lang, override in (data.get("languages") or {}).items()
            )
        )
        characters[key] = Character(key, base, langs)
    aliases: dict[str, str] = {}
    for alias, target in config["aliases"].items():
        if str(target).casefold() not in characters:
            raise ConfigError(
                f"alias '{alias}' points to unknown character '{target}' "
                f"(characters: {', '.join(sorted(characters))})",
                config_file,
                config_line(root / config_file, f"aliases.{alias}"),
            )
        aliases[str(alias).casefold()] = str(target).casefold()
    narrator = str(config["narrator"]).casefold()
    narrator = aliases.get(narrator, narrator)
    store = Path(os.environ.get("TTSBUILD_STORE") or config["store"])
    out = OutputSettings.from_dict(config["output"])
    engines = {
        name: EngineOptions(
            device=str(opts.get("device", "auto")),
            model=str(opts.get("model", "")),
            checkpoint_dir=str(
                (root / opts["checkpoint_dir"]).resolve() if opts.get("checkpoint_dir") else ""
            ),
            batch_size=int(opts["batch_size"]),
        )
        for name, opts in _with_engine_defaults(config["engines"]).items()
    }
    resources = {
        name: dict(opts.get("resources") or {}) for name, opts in config["engines"].items()
    }
    episodes = {
        str(name): Episode(
            str(name),
            str(ep["source"]),
            str(ep.get("title", name)),
            TimingOptions.from_dict(ep["timing"]),
            str(ep["encoding"]) if ep.get("encoding") else None,
            bool(ep["skip_sound_descriptions"]),
        )
        for name, ep in config["episodes"].items()
    }
    return Project(
        root=root,
        config_file=config_file,
        engine=str(config["engine"]),
        language=str(config["language"]).lower(),
        narrator=narrator,
        store=store if store.is_absolute() else root / store,
        allow_outside=tuple((root / p).resolve() for p in config["allow_outside"]),
        max_chars=int(config["max_chars"]),
        batch_size=int(config["batch_size"]),
        output=out,
        qa=QASettings(
            enabled=bool(config["qa"]["enabled"] or os.environ.get("TTSBUILD_QA") == "1"),
            model=str(
                root / config["qa"]["model"]
                if config["qa"]["model"] != "base"
                else "base"
            ),
            max_wer=float(config["qa"]["max_wer"]),
            attempts=int(config["qa"]["attempts"]),
            cache_dir=os.environ.get("TTSBUILD_CACHE", ""),
        ),
        render_server=RenderServerSettings(
            str(config["render_server"]["mode"]), float(config["render_server"]["idle_seconds"])
        ),
        engines=engines,
        resources=resources,
        aliases=aliases,
        characters=characters,
        episodes=episodes,
    )


def load_project(root: str | Path = ".", config_file: str = DEFAULT_CONFIG_FILE) -> Project:
    """Read and validate ``<root>/<config_file>``."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError("project directory not found (check -C/--directory)", root)
    return project_from_config(read_config_file(root / config_file, config_file), root, config_file)
