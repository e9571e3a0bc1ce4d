"""engines/kokoro.py without the extra: the blend syntax (pure) and a clear error when the
extra is missing. The model itself is tested in tests/engines/test_kokoro.py."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ProjectDir
from ttsbuild.config import load_project
from ttsbuild.core.errors import ConfigError, VoiceError
from ttsbuild.engines import kokoro
from ttsbuild.planning.planner import Planner

NAMES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
weights = st.floats(min_value=0.1, max_value=100, allow_nan=False)  # shares >= 0.00025


@given(st.dictionaries(st.sampled_from(NAMES), weights, min_size=1), st.randoms())
def test_a_blend_is_normalized_and_does_not_depend_on_order(blend, rnd):
    items = list(blend.items())
    rnd.shuffle(items)
    spec = ",".join(f"{n}:{w!r}" for n, w in items)
    pairs = kokoro.parse_blend(spec)
    assert [n for n, _ in pairs] == sorted(blend)
    assert abs(sum(w for _, w in pairs) - 1) < 1e-3
    assert kokoro.parse_blend(kokoro.blend_spec(pairs)) == pairs  # the canonical form is stable
    assert kokoro.parse_blend(",".join(f"{n}:{w!r}" for n, w in sorted(items))) == pairs


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("jf_alpha:0", "must be above 0"),
        ("jf_alpha:-1", "must be above 0"),
        ("jf_alpha:inf", "must be above 0"),
        ("jf_alpha:lots", "is not a number"),
        ("jf_alpha,jf_alpha:2", "listed twice"),
        ("jf_alpha,,jm_kumo", "empty voice name"),
        ("jf_alpha:1e-5,jm_kumo:1", "below 0.0001 of the blend"),  # would round to 0
        ("jm_kumo:1,jf_alpha:1e-300", "below 0.0001 of the blend"),
        ("jf_alpha:1e308,jm_kumo:1e-308", "below 0.0001 of the blend"),
    ],
)
def test_bad_blends_say_what_is_wrong(spec, message):
    with pytest.raises(VoiceError, match=message):
        kokoro.parse_blend(spec)


def test_huge_weights_are_normalized_without_overflow():
    # their sum overflows to inf: each would round to 0 and the canonical form not parse
    pairs = kokoro.parse_blend("jf_alpha:1e308,jm_kumo:1e308")
    assert pairs == (("jf_alpha", 0.5), ("jm_kumo", 0.5))
    assert kokoro.parse_blend(kokoro.blend_spec(pairs)) == pairs


@given(st.dictionaries(st.sampled_from(NAMES), st.floats(min_value=1e-300, max_value=1e308)))
def test_every_accepted_blend_parses_back_to_itself(blend):
    spec = ",".join(f"{n}:{w!r}" for n, w in blend.items())
    try:
        pairs = kokoro.parse_blend(spec)
    except VoiceError:
        return  # refused with a message (an empty spec, a weight too small beside the others)
    assert all(w > 0 for _, w in pairs)
    assert kokoro.parse_blend(kokoro.blend_spec(pairs)) == pairs


def test_without_the_extra_planning_says_how_to_install_it(tmp_path, monkeypatch):
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(kokoro, "version", missing)
    project = ProjectDir(tmp_path / "show", tmp_path / "loads.txt")
    project.write(
        "config/config.yaml",
        "characters:\n  narrator: {engine: kokoro, voice: jf_alpha}\n"
        "episodes:\n  ep1: {source: ep1.txt}\n",
    )
    project.write("ep1.txt", "[ja:] こんにちは。\n")
    with pytest.raises(ConfigError) as info:
        Planner(load_project(project.path)).plan_episode("ep1")
    assert str(info.value) == (
        "config/config.yaml:2: Kokoro is not installed: pip install 'ttsbuild[kokoro]'"
    )
