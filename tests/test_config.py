"""config/: the schema is the one source of defaults; one validation; clear file:line errors."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ttsbuild.config import project_from_config, schema
from ttsbuild.config import settings as S
from ttsbuild.config.schema import SCHEMA_PATH, load_schema, with_defaults
from ttsbuild.core.errors import ConfigError

BASE = {"engine": "piper", "characters": {"narrator": {}}, "episodes": {"e": {"source": "e.txt"}}}


def _config(**extra: object) -> dict:
    return {**yaml.safe_load(yaml.safe_dump(BASE)), **extra}


def test_settings_classes_have_no_defaults_of_their_own():
    for cls in (
        S.OutputSettings,
        S.QASettings,
        S.TimingOptions,
        S.EngineOptions,
        S.Episode,
        S.RenderServerSettings,
        S.Character,
        S.VoiceSetting,
    ):
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING, f"{cls.__name__}.{f.name} has a default"
            assert f.default_factory is dataclasses.MISSING, f"{cls.__name__}.{f.name}"


def test_output_defaults_come_from_the_schema():
    schema = load_schema()["properties"]["output"]["properties"]
    out, delivery = S.OutputSettings.from_dict({}), S.DeliverySettings.from_dict({})
    for name, spec in schema.items():
        if "default" in spec:
            owner = out if hasattr(out, name) else delivery
            assert getattr(owner, name) == spec["default"], name


def test_engine_device_is_auto_with_no_entry_and_with_an_empty_entry(tmp_path):
    """Was: 'cpu' for an engine with no `engines:` entry, 'auto' for an empty one."""
    none = project_from_config(_config(), tmp_path)
    empty = project_from_config(_config(engines={"piper": {}}), tmp_path)
    assert none.engine_options("piper").device == "auto"
    assert empty.engine_options("piper").device == "auto"
    assert none.engine_options("f5tts") == empty.engine_options("piper")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("key", ["loudness_lufs", "trim_db", "peak_dbfs", "gap_ms", "fade_ms"])
def test_non_finite_numbers_are_refused_with_the_key(tmp_path, key, value):
    with pytest.raises(ConfigError, match=rf"'output.{key}': .* is not a finite number"):
        project_from_config(_config(output={key: value}), tmp_path)


def test_with_defaults_validates_the_section():
    assert with_defaults("timing", {"mode": "concatenate"})["max_stretch"] == 1.25
    with pytest.raises(ConfigError, match="timing"):
        with_defaults("timing", {"mode": "fastest"})


def test_a_remembered_validation_gives_what_validating_gives():
    """Validations are remembered (for the plan cache): a second call gives the same values
    as a fresh one, changing a result changes nothing remembered, an error is never
    remembered, and data JSON would change (a tuple, NaN) is validated every time."""
    first = with_defaults("output", {"gap_ms": 120})
    first["gap_ms"] = 999  # the caller's copy
    again = with_defaults("output", {"gap_ms": 120})
    assert again["gap_ms"] == 120 and again == {**first, "gap_ms": 120}
    assert 'output:{"gap_ms":120}' in schema.validations()
    for _ in range(2):
        with pytest.raises(ConfigError, match="long"):
            with_defaults("output", {"gap_ms": "long"})
        with pytest.raises(ConfigError, match="finite"):
            with_defaults("output", {"peak_dbfs": float("nan")})
    assert 'output:{"gap_ms":"long"}' not in schema.validations()
    assert not any(k.startswith('output:{"peak_dbfs"') for k in schema.validations())


def test_a_whole_config_validated_twice_is_filled_the_same(tmp_path):
    one, two = copy.deepcopy(BASE), copy.deepcopy(BASE)
    schema.validate_config(one, "config/config.yaml", None)
    schema.validate_config(two, "config/config.yaml", None)  # remembered
    assert one == two and one["output"]["gap_ms"] == with_defaults("output")["gap_ms"]
    bad = dict(copy.deepcopy(BASE), max_chars="many")
    for _ in range(2):
        with pytest.raises(ConfigError, match="max_chars"):
            schema.validate_config(bad, "config/config.yaml", None)


def test_config_copy_of_the_schema_is_in_sync():
    shipped = (Path(__file__).resolve().parents[1] / "config" / "config.schema.yaml").read_text()
    assert shipped == SCHEMA_PATH.read_text()


def test_preflight_reads_the_configfile_given_on_the_command_line(tmp_path, monkeypatch, capsys):
    """--configfile is honoured: a YAML error is reported in that file, not config/config.yaml."""
    from ttsbuild import workflow

    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "other.yaml").write_text("characters: [oops\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        workflow.preflight(SimpleNamespace(overwrite_configfiles=["other.yaml"]))
    assert stop.value.code == 1
    assert "ttsbuild: error: other.yaml:2: invalid YAML" in capsys.readouterr().err
