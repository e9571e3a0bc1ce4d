"""The one cache-key function: what changes a key, and what never does."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from ttsbuild.core.effects import resolve_chain
from ttsbuild.core.request import PostStage, RenderRequest, Voice
from ttsbuild.engines.base import ParamSpec
from ttsbuild.planning.key import KEY_LENGTH, chain_keys, derive_seed, segment_key, stage_key

BASE = RenderRequest(
    text="Hello there.",
    engine="piper",
    engine_version="piper-tts==1.8.0",
    model="piper-onnx",
    language="en",
    voice=Voice("/home/a/voice.onnx", "v1"),
    params=(("pitch", 0.0), ("speed", 1.0)),
    seed=123,
)


def test_key_shape_and_stability():
    key = segment_key(BASE)
    assert len(key) == KEY_LENGTH and all(c in "0123456789abcdef" for c in key)
    assert segment_key(replace(BASE)) == key


def test_paths_never_enter_the_key():
    moved = replace(BASE, voice=Voice("/mnt/other/place.onnx", "v1"))
    assert segment_key(moved) == segment_key(BASE)


def test_everything_that_changes_the_sound_changes_the_key():
    variants = [
        replace(BASE, text="Hello there!"),
        replace(BASE, engine="f5tts"),
        replace(BASE, engine_version="piper-tts==1.9.0"),
        replace(BASE, model="other"),
        replace(BASE, language="de"),
        replace(BASE, voice=Voice("/home/a/voice.onnx", "v2")),
        replace(BASE, params=(("pitch", 1.0), ("speed", 1.0))),
        replace(BASE, seed=124),
    ]
    keys = {segment_key(v) for v in variants}
    assert len(keys) == len(variants) and segment_key(BASE) not in keys


@given(st.floats(min_value=0.5, max_value=2.0, allow_nan=False))
def test_params_are_rounded_to_fixed_precision(value):
    spec = ParamSpec("speed", 1.0, 0.5, 2.0, decimals=3)
    assert spec.resolve(value) == round(spec.resolve(value), 3)


def test_float_noise_does_not_change_the_key():
    spec = ParamSpec("speed", 1.0, 0.5, 2.0, decimals=3)
    a = replace(BASE, params=(("speed", spec.resolve(0.9)),))
    b = replace(BASE, params=(("speed", spec.resolve(0.9 + 1e-9)),))
    c = replace(BASE, params=(("speed", spec.resolve(0.91)),))
    assert segment_key(a) == segment_key(b) != segment_key(c)


@given(st.text(max_size=50), st.text(max_size=50))
def test_derived_seed_is_31_bit(a, b):
    assert 0 <= derive_seed(a, b) < 2**31


def test_keys_and_seeds_are_the_same_in_another_process():
    """Nothing process-specific (hash randomization, dict order) reaches a key or a seed."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json\n"
        "from ttsbuild.core.request import RenderRequest, Voice\n"
        "from ttsbuild.planning.key import derive_seed, segment_key\n"
        "r = RenderRequest('Grüße, Bob.', 'piper', '1', 'm', 'de', Voice('/v', 'abc'), "
        "(('speed', 0.9), ('pitch', -3.0)), 5)\n"
        "print(json.dumps([segment_key(r), derive_seed('x', 1, 2.5, 'ü')]))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    here = RenderRequest(
        "Grüße, Bob.",
        "piper",
        "1",
        "m",
        "de",
        Voice("/v", "abc"),
        (("speed", 0.9), ("pitch", -3.0)),
        5,
    )
    assert json.loads(out.stdout) == [segment_key(here), derive_seed("x", 1, 2.5, "ü")]


def test_key_of_a_fixed_request_is_pinned():
    """A change here re-renders every user's store: bump RENDER_PIPELINE_VERSION on purpose
    (docs/architecture.md, "Key stability") and update this value in the same commit."""
    from ttsbuild.planning.key import RENDER_PIPELINE_VERSION

    request = RenderRequest(
        "Hello there, Bob.",
        "piper",
        "piper-tts 1.8.0",
        "en_US-joe-medium",
        "en",
        Voice("/x/joe.onnx", "0123456789abcdef", ""),
        (("speed", 1.08),),  # pitch is an effects stage since version 2 (issue 15)
        12345,
    )
    from ttsbuild.planning.key import STAGE_PIPELINE_VERSION

    assert RENDER_PIPELINE_VERSION == 2
    assert STAGE_PIPELINE_VERSION == 2  # 2: stages read stored bytes (issue 22)
    assert segment_key(request) == "a36656643f83d4900c5c"
    # A post stage's key chains on its input's: pitch +4 and the telephone preset.
    effects = resolve_chain([{"type": "pitch_shift", "semitones": 4}, "telephone"])
    assert stage_key(segment_key(request), PostStage("effects", "1", effects)) == (
        "8ff572170e9cda1b0510"
    )
    assert derive_seed("Hello there, Bob.", "piper", "m", "en", "abc") == 658136594
    # Where the voice file lives is not part of the sound.
    moved = RenderRequest(
        *[*request.__dict__.values()][:5],
        Voice("/elsewhere.onnx", "0123456789abcdef"),
        request.params,
        request.seed,
    )
    assert segment_key(moved) == segment_key(request)


def test_request_round_trips_through_its_own_form():
    request = RenderRequest(
        "Hi.", "piper", "1", "m", "en", Voice("/a.onnx", "abc", "ref"), (("speed", 1.2),), 7
    )
    assert RenderRequest.from_dict(request.to_dict()) == request


def test_post_stage_keys_chain_on_their_input_and_never_touch_synthesis():
    telephone = PostStage("effects", "1", resolve_chain(["telephone"]))
    radio = PostStage("effects", "1", resolve_chain(["radio"]))
    synth, phone = chain_keys(BASE, (telephone,))
    assert synth == segment_key(BASE)  # post stages never change the synthesis key
    assert chain_keys(BASE, (radio,))[0] == synth and chain_keys(BASE, (radio,))[1] != phone
    # the stage's own version and its input both enter its key
    assert stage_key(synth, PostStage("effects", "2", telephone.effects)) != phone
    assert stage_key(segment_key(replace(BASE, seed=9)), telephone) != phone
    # a conversion target is its reference clip's content, never its path
    a = PostStage("convert", "1", voice=Voice("/a/ref.wav", "h1"), engine="chatterbox_vc")
    moved = replace(a, voice=Voice("/b/other.wav", "h1"))
    other = replace(a, voice=Voice("/a/ref.wav", "h2"))
    assert stage_key(synth, a) == stage_key(synth, moved) != stage_key(synth, other)
    assert PostStage.from_dict(a.to_dict()) == a
