"""The project: a validated config resolved against its directory (characters, episodes, paths).

Imports: :mod:`ttsbuild.core` and the other :mod:`ttsbuild.config` modules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttsbuild.config.schema import (
    DEFAULT_CONFIG_FILE,
    config_line,
    read_config_file,
    validate_config,
)
from ttsbuild.config.settings import (
    Character,
    EngineOptions,
    Episode,
    OutputSettings,
    QASettings,
    RenderServerSettings,
    RuntimeSetting,
    VoiceSetting,
)
from ttsbuild.core.errors import ConfigError


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
    render_server: RenderServerSettings
    qa: QASettings
    engines: Mapping[str, EngineOptions]
    resources: Mapping[str, Mapping[str, int | str]]
    runtimes: Mapping[str, RuntimeSetting]  # engines that render in their own runtime
    aliases: Mapping[str, str]
    characters: Mapping[str, Character]
    episodes: Mapping[str, Episode]

    def engine_options(self, engine: str) -> EngineOptions:
        # An engine with no entry gets the schema's defaults, as an empty entry does.
        return self.engines.get(engine) or EngineOptions.from_dict({})

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
    episodes = {
        str(name): Episode.from_dict(str(name), ep) for name, ep in config["episodes"].items()
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
    )


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
