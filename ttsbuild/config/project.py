"""The project: a validated config resolved against its directory (characters, episodes, paths).

Imports: :mod:`ttsbuild.core` and the other :mod:`ttsbuild.config` modules.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttsbuild.config.paths import check_outputs, store_path
from ttsbuild.config.schema import (
    DEFAULT_CONFIG_FILE,
    config_line,
    decode_utf8,
    read_config_file,
    validate_config,
)
from ttsbuild.config.settings import (
    AssetSettings,
    Character,
    ConvertSetting,
    DeliverySettings,
    EngineOptions,
    Episode,
    OutputSettings,
    QASettings,
    RenderServerSettings,
    RuntimeSetting,
    VoiceSetting,
)
from ttsbuild.core.effects import Effect, resolve_chain
from ttsbuild.core.errors import ConfigError
from ttsbuild.core.files import check_regular
from ttsbuild.core.lexicon import Entry, Lexicon
from ttsbuild.core.lines import physical_lines, refuse_controls


@functools.cache
def _default_engine_options() -> EngineOptions:
    return EngineOptions.from_dict({})


@dataclass(frozen=True)
class Project:
    root: Path
    config_file: str
    engine: str
    language: str
    language_check: str  # warn | strict | ignore (docs/script.md, Languages)
    narrator: str
    store: Path
    allow_outside: tuple[Path, ...]
    max_chars: int
    numbers: bool  # digits read as words before the lexicon (core/numbers.py)
    batch_size: int
    output: OutputSettings
    delivery: DeliverySettings
    assets: AssetSettings
    render_server: RenderServerSettings
    qa: QASettings
    engines: Mapping[str, EngineOptions]
    resources: Mapping[str, Mapping[str, int | str]]
    runtimes: Mapping[str, RuntimeSetting]  # engines that render in their own runtime
    aliases: Mapping[str, str]
    characters: Mapping[str, Character]
    episodes: Mapping[str, Episode]
    lexicon: Lexicon

    def engine_options(self, engine: str) -> EngineOptions:
        # An engine with no entry gets the schema's defaults, as an empty entry does.
        return self.engines.get(engine) or _default_engine_options()

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

    def regular_file(self, relative: str, what: str, key: str, label: str, limit: int) -> Path:
        """:meth:`resolve_path`, and the file a regular one of at most ``limit`` bytes (a FIFO
        would block the build); otherwise one error naming ``label`` and the config line."""
        path = self.resolve_path(relative, what, key)
        try:
            check_regular(path, limit)
        except OSError as exc:
            why = "not found" if isinstance(exc, FileNotFoundError) else f"cannot be used: {exc}"
            raise ConfigError(
                f"{label} '{relative}' {why} (paths are relative to the project directory "
                f"{self.root})",
                self.config_file,
                config_line(self.root / self.config_file, key),
            ) from None
        return path


def _voice_setting(data: Mapping[str, Any], top: Mapping[str, Any]) -> VoiceSetting:
    params = {str(k).lower(): float(v) for k, v in (data.get("params") or {}).items()}
    return VoiceSetting(
        engine=str(data.get("engine", top["engine"])),
        voice=str(data.get("voice", "")),
        reference_text=str(data.get("reference_text", "")),
        language=str(data.get("language", top["language"])).lower(),
        params=tuple(sorted(params.items())),
    )


def _effects(items: Any, config_file: str, path: Path, key: str) -> tuple[Effect, ...]:
    try:
        return resolve_chain(items or [])
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}", config_file, config_line(path, key)) from None


def _entries(
    data: Mapping[str, Any], shown: str, path: Path, key: str, **scope: str | None
) -> list[Entry]:
    out = []
    for word, replacement in data.items():
        if not str(word).strip():
            raise ConfigError(f"{key}: an empty word", shown, config_line(path, key))
        line = config_line(path, f"{key}.{word}" if key else str(word))
        origin = f"{shown}:{line}" if line else shown
        out.append(Entry(str(word).strip(), str(replacement), origin=origin, **scope))
    return out


def _lexicon_file(
    root: Path, relative: str, config_file: str, key_line: int | None, allowed: tuple[Path, ...]
) -> list[Entry]:
    """A ``lexicon_file``, read like a source: inside the project (or ``allow_outside``), a
    regular file of at most :data:`files.MAX_SOURCE_BYTES` (never a FIFO or a device), UTF-8
    (a BOM allowed) with physical lines and no control characters, every error located."""
    from ttsbuild.core import files

    path = (root / relative).resolve()
    if not any(path == base or base in path.parents for base in (root, *allowed)):
        raise ConfigError(
            f"lexicon_file '{relative}' is outside the project directory; list its folder under "
            "'allow_outside:' to allow it",
            config_file,
            key_line,
        )
    try:
        data = files.read_regular(path, files.MAX_SOURCE_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"lexicon_file '{relative}' not found", config_file, key_line) from None
    except (files.NotRegularFileError, IsADirectoryError) as exc:
        why = exc if isinstance(exc, files.NotRegularFileError) else "it is a directory"
        raise ConfigError(
            f"cannot read lexicon_file '{relative}': {why}", config_file, key_line
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read lexicon_file '{relative}': {exc.strerror}", config_file, key_line
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        parsed = read_config_file(path, relative)
        if not isinstance(parsed, Mapping) or not all(isinstance(v, str) for v in parsed.values()):
            raise ConfigError("a lexicon file is a mapping of word: replacement", relative, 1)
        return _entries(parsed, relative, path, "")
    if path.suffix.lower() != ".tsv":
        raise ConfigError(
            f"lexicon_file '{relative}': use a .yaml or .tsv file", config_file, key_line
        )
    return _tsv_entries(_lexicon_text(data, relative), relative)


def _lexicon_text(data: bytes, relative: str) -> str:
    text = decode_utf8(data, relative, "the lexicon")
    refuse_controls(text, relative, ConfigError)
    return text


def _tsv_entries(text: str, relative: str) -> list[Entry]:
    out = []
    for number, raw in enumerate(physical_lines(text), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cells = raw.split("\t")
        if len(cells) not in (2, 3) or not cells[0].strip():
            raise ConfigError(
                "a lexicon line is: word<TAB>replacement[<TAB>language]", relative, number
            )
        language = cells[2].strip().lower() if len(cells) == 3 and cells[2].strip() else None
        out.append(
            Entry(cells[0].strip(), cells[1].strip(), language, origin=f"{relative}:{number}")
        )
    return out


def _lexicon(
    config: Mapping[str, Any], root: Path, config_file: str, allowed: tuple[Path, ...]
) -> Lexicon:
    path = root / config_file
    entries = _entries(config["lexicon"], config_file, path, "lexicon")
    for lang, data in config["lexicon_languages"].items():
        key = f"lexicon_languages.{lang}"
        entries += _entries(data, config_file, path, key, language=str(lang).lower())
    for name, data in config["characters"].items():
        key = f"characters.{name}.lexicon"
        char = str(name).casefold()
        entries += _entries(data.get("lexicon") or {}, config_file, path, key, character=char)
    if config.get("lexicon_file"):
        line = config_line(path, "lexicon_file")
        entries = (
            _lexicon_file(root, str(config["lexicon_file"]), config_file, line, allowed) + entries
        )
    return Lexicon(tuple(entries))


def _characters(config: Mapping[str, Any], root: Path, config_file: str) -> dict[str, Character]:
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
        effects = _effects(
            data.get("effects"), config_file, root / config_file, f"characters.{name}.effects"
        )
        convert = ConvertSetting.from_dict(data["convert"]) if data.get("convert") else None
        characters[key] = Character(key, base, langs, effects, convert, "language" in data)
    return characters


def _aliases(
    config: Mapping[str, Any], characters: Mapping[str, Character], root: Path, config_file: str
) -> dict[str, str]:
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
    return aliases


def _assets(config: Mapping[str, Any], root: Path, config_file: str) -> AssetSettings:
    data = dict(config["assets"])
    data["strict"] = bool(data["strict"] or os.environ.get("TTSBUILD_ASSETS_STRICT") == "1")
    try:
        data["folder"].format(episode="x")
        return AssetSettings.from_dict(data)
    except (KeyError, IndexError):
        problem = f"folder {data['folder']!r}: the only placeholder is {{episode}}"
    except ValueError as exc:
        problem = str(exc)
    raise ConfigError(f"assets: {problem}", config_file, config_line(root / config_file, "assets"))


def project_from_config(
    config: dict[str, Any],
    root: str | Path = ".",
    config_file: str = DEFAULT_CONFIG_FILE,
) -> Project:
    """Validate a loaded config (defaults filled in place) and build the :class:`Project`."""
    root = Path(root).resolve()
    validate_config(config, config_file, root / config_file)
    characters = _characters(config, root, config_file)
    aliases = _aliases(config, characters, root, config_file)
    narrator = str(config["narrator"]).casefold()
    narrator = aliases.get(narrator, narrator)
    store = store_path(config, root, config_file)
    out = OutputSettings.from_dict(config["output"])
    assets = _assets(config, root, config_file)
    engines, resources, runtimes = _engines(config, root)
    episodes = {
        str(name): Episode.from_dict(str(name), ep) for name, ep in config["episodes"].items()
    }
    allow_outside = tuple((root / p).resolve() for p in config["allow_outside"])
    check_outputs(root, store, allow_outside, config_file)
    return Project(
        root=root,
        config_file=config_file,
        engine=str(config["engine"]),
        language=str(config["language"]).lower(),
        language_check=(
            "strict"
            if os.environ.get("TTSBUILD_STRICT_LANGUAGE") == "1"
            else (config["language_check"] or "ignore")  # false (YAML's bare off) is ignore
        ),
        narrator=narrator,
        store=store if store.is_absolute() else root / store,
        allow_outside=allow_outside,
        max_chars=int(config["max_chars"]),
        numbers=bool(config["numbers"]),
        batch_size=int(config["batch_size"]),
        output=out,
        delivery=DeliverySettings.from_dict(config["output"]),
        assets=assets,
        qa=QASettings.from_dict(
            {
                **config["qa"],
                "enabled": bool(config["qa"]["enabled"] or os.environ.get("TTSBUILD_QA") == "1"),
                "model": (
                    str(root / config["qa"]["model"]) if config["qa"]["model"] != "base" else "base"
                ),
            },
            cache_dir=os.environ.get("TTSBUILD_CACHE", ""),
        ),
        render_server=RenderServerSettings.from_dict(config["render_server"]),
        engines=engines,
        resources=resources,
        runtimes=runtimes,
        aliases=aliases,
        characters=characters,
        episodes=episodes,
        lexicon=_lexicon(config, root, config_file, allow_outside),
    )


def _engines(
    config: Mapping[str, Any], root: Path
) -> tuple[dict[str, EngineOptions], dict[str, dict[str, Any]], dict[str, RuntimeSetting]]:
    """Each engine's options (checkpoint folder resolved), resources and runtime."""
    engines = {
        name: EngineOptions.from_dict(
            {
                **opts,
                "checkpoint_dir": (
                    str((root / opts["checkpoint_dir"]).resolve())
                    if opts.get("checkpoint_dir")
                    else ""
                ),
            }
        )
        for name, opts in config["engines"].items()
    }
    resources = {
        name: dict(opts.get("resources") or {}) for name, opts in config["engines"].items()
    }
    runtimes = {
        name: RuntimeSetting.from_dict(_runtime_paths(opts["runtime"], root))
        for name, opts in config["engines"].items()
        if opts.get("runtime")
    }
    return engines, resources, runtimes


def _runtime_paths(runtime: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """A relative ``python`` path is relative to the project (a bare name stays a command)."""
    python = str(runtime.get("python", ""))
    if "/" in python and not Path(python).is_absolute():
        return {**runtime, "python": str((root / python).absolute())}
    return dict(runtime)


def load_project(root: str | Path = ".", config_file: str = DEFAULT_CONFIG_FILE) -> Project:
    """Read and validate ``<root>/<config_file>``."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError("project directory not found (check -C/--directory)", root)
    return project_from_config(read_config_file(root / config_file, config_file), root, config_file)
