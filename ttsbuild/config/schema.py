"""The config schema: the one source of defaults, validation with file:line errors, YAML reading.

Every default of every setting lives in ``ttsbuild/schemas/config.schema.yaml``. A config is
validated once, where the build or the CLI first reads it (:func:`validate_config` fills the
defaults in place); settings values (:mod:`ttsbuild.config.settings`) are then built from the
validated dict and hold no defaults of their own. :func:`with_defaults` fills one section's
defaults for code that builds a settings value without a whole config (tests, the server).

A validation is a pure function of the data and the schema file, so each one is remembered
(the data and the result, as JSON text): :func:`validations` gives them to the plan cache,
which keeps them with the plans and hands them back (:func:`reuse_validations`) only when
nothing planning looked at, the schema file included, has changed; a reused plan's config is
then not validated again (nor jsonschema imported).

Imports: :mod:`ttsbuild.core` only.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ttsbuild.core.errors import ConfigError
from ttsbuild.core.exactjson import exact_json

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG_FILE = "config/config.yaml"

#: Where each settings section's schema sits (JSON-pointer-like paths into the schema).
SECTIONS: dict[str, tuple[str, ...]] = {
    "output": ("properties", "output"),
    "qa": ("properties", "qa"),
    "assets": ("properties", "assets"),
    "render_server": ("properties", "render_server"),
    "engine": ("properties", "engines", "additionalProperties"),
    "runtime": ("properties", "engines", "additionalProperties", "properties", "runtime"),
    "timing": ("properties", "episodes", "additionalProperties", "properties", "timing"),
    "episode": ("properties", "episodes", "additionalProperties"),
    "convert": ("properties", "characters", "additionalProperties", "properties", "convert"),
}


@functools.cache
def _schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        # the C loader when PyYAML has it (same result, a tenth of the time at each start)
        loaded: dict[str, Any] = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return loaded


def load_schema() -> dict[str, Any]:
    """A fresh copy of the schema (callers may not change the cached one)."""
    return copy.deepcopy(_schema())


@functools.cache
def _validator_with_defaults() -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator

    def set_defaults(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            # A preset (timing: {preset: dubbing}) fills the values it names that the config
            # leaves out, before the plain defaults; the presets are in the schema too.
            preset = schema.get("x-presets", {}).get(instance.get("preset"), {})
            for prop, value in preset.items():
                instance.setdefault(prop, copy.deepcopy(value))
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    def finite(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        # JSON-schema bounds are false for NaN, so NaN and infinity pass minimum/maximum.
        if value and isinstance(instance, float) and not math.isfinite(instance):
            yield jsonschema.ValidationError(f"{instance} is not a finite number")

    def type_with_finite(validator: Any, types: Any, instance: Any, schema: Any) -> Any:
        yield from base.VALIDATORS["type"](validator, types, instance, schema)
        kinds = [types] if isinstance(types, str) else list(types)
        if "number" in kinds:
            yield from finite(validator, True, instance, schema)

    return jsonschema.validators.extend(
        base, {"properties": set_defaults, "type": type_with_finite}
    )


def _section_schema(section: str) -> dict[str, Any]:
    node: Any = _schema()
    for part in SECTIONS[section]:
        node = node[part]
    return {**copy.deepcopy(node), "definitions": copy.deepcopy(_schema()["definitions"])}


@functools.cache
def _section_validator(section: str) -> Any:
    return _validator_with_defaults()(_section_schema(section))


# "<section>:<data as JSON>" -> the data validated, defaults filled, as JSON ("config:" for
# a whole config): the validations done in this process or reused from the plan cache.
_validated: dict[str, str] = {}
_REMEMBERED_AT_MOST = 4096  # a long-lived process (the render server) stays bounded


def _remember(key: str | None, filled: Any) -> None:
    text = exact_json(filled)
    if key is not None and text is not None and len(_validated) < _REMEMBERED_AT_MOST:
        _validated[key] = text


def validations() -> dict[str, str]:
    """The validations done or reused in this process (for the plan cache)."""
    return dict(_validated)


def reuse_validations(done: Mapping[str, str]) -> None:
    """Take validations a planning did (:func:`validations`) as done in this process."""
    _validated.update(done)


def with_defaults(section: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One section's values with the schema's defaults filled in (validated).

    >>> with_defaults("timing")["mode"]
    'smart_natural'
    >>> with_defaults("engine", {"model": "x"})["device"]
    'auto'
    """
    plain = dict(data or {})
    text = exact_json(plain)
    key = None if text is None else f"{section}:{text}"
    if key in _validated:
        done: dict[str, Any] = json.loads(_validated[key])
        return done
    filled = copy.deepcopy(plain)
    errors = list(_section_validator(section).iter_errors(filled))
    if errors:
        raise ConfigError(f"{section}: {errors[0].message}")
    _remember(key, filled)
    return filled


def config_line(
    config_path: Path, key_path: str | Sequence[str] | None, exact: bool = False
) -> int | None:
    """The line of a dotted key (or a sequence of keys, which may hold dots) in a YAML file
    (for error messages), or None.

    Without ``exact``, a key that is not there gives the line of its closest parent.
    """
    if not key_path:
        return None
    try:
        node = yaml.compose(config_path.read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in key_path.split(".") if isinstance(key_path, str) else key_path:
        if not isinstance(node, yaml.MappingNode):
            return None if exact else line
        for k, v in node.value:
            if str(k.value) == part or str(k.value).casefold() == part.casefold():
                line, node = k.start_mark.line + 1, v
                break
        else:
            return None if exact else line
    return line


def _shown(value: Any, limit: int = 60) -> str:
    """A user's value quoted for a one-line message: escaped, and cut to ``limit`` chars."""
    text = repr(str(value))
    return text if len(text) <= limit else f"{text[: limit - 4]}...'"


def _error_message(error: Any) -> tuple[str | Sequence[str], str]:
    path = ".".join(str(p) for p in error.absolute_path)
    where = f"'{path}'" if path else "the top level"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        bad = extra[0] if extra else "?"
        hint = difflib.get_close_matches(str(bad), allowed, n=1)
        suggestion = (
            f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(allowed)})"
        )
        key = f"{path}.{bad}" if path else str(bad)
        return key, f"unknown key '{bad}' in {where}{suggestion}"
    if "propertyNames" in error.schema_path:
        name = error.instance
        return [*(str(p) for p in error.absolute_path), str(name)], (
            f"{where}: the name {_shown(name)} is not allowed: use up to 100 letters, digits, "
            "'.', '_' and '-', starting with a letter or digit"
        )
    if error.validator == "required":
        return path, f"{where} is missing {error.message.split(' is a required')[0]}"
    message = error.message  # quotes the bad value, which may be huge: keep the line short
    return path, f"{where}: {message if len(message) <= 300 else message[:300] + '...'}"


def validate_config(config: dict[str, Any], config_file: str, config_path: Path | None) -> None:
    """Validate in place against the schema, filling defaults. Raises ConfigError."""
    text = exact_json(config)
    memo = None if text is None else f"config:{text}"
    if memo in _validated:
        config.clear()
        config.update(json.loads(_validated[memo]))
        return
    validator = _validator_with_defaults()(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        key, message = _error_message(errors[0])
        line = config_line(config_path, key) if config_path else None
        raise ConfigError(message, config_file, line)
    _remember(memo, config)


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


#: The most values a config may hold once its YAML aliases are expanded ("billion laughs").
MAX_YAML_VALUES = 100_000


def _expanded_size(root: yaml.Node) -> int:
    """How many values a composed YAML document holds with every alias expanded (aliases
    are shared nodes: each is counted once per path to it, without expanding anything).
    A recursive alias counts as unbounded."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), MAX_YAML_VALUES + 1)
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes or any(id(c) in open_nodes for c in children):
            return MAX_YAML_VALUES + 1  # a node inside itself
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def safe_load_yaml(text: str) -> Any:
    """Safe-load YAML (no tags that build Python objects), reject duplicate keys and bound
    the size that aliases can expand to."""
    loader = _StrictLoader(text)  # safe: _StrictLoader is a SafeLoader
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_VALUES:
            raise yaml.MarkedYAMLError(
                problem=f"the config expands to more than {MAX_YAML_VALUES} values through "
                "YAML aliases (&name/*name); write the values out",
                problem_mark=node.start_mark,
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_config_file(path: Path, shown: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found (create config/config.yaml)", shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", shown) from None
    text = decode_utf8(data, shown, "the config")
    try:
        data = safe_load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            f"invalid YAML: {problem}", shown, mark.line + 1 if mark else None
        ) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(
            f"the config is {kind}: it must map keys to values (characters:, episodes:, ...)",
            shown,
        )
    return data


def decode_utf8(data: bytes, shown: str, what: str) -> str:
    """Config text (the config file, a lexicon file): UTF-8, a BOM allowed; anything else is
    one ``file:line`` error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save {what} as UTF-8",
            shown,
            data[: exc.start].count(b"\n") + 1,
        ) from None
