"""The one cache-key function, and seed derivation.

A segment's key is sha256 over canonical JSON of the fully resolved request: normalized text,
engine id and version, model id, language, the voice's content hash, parameters rounded to
fixed precision, and the seed. Paths, devices and timestamps never enter it.
"""

from __future__ import annotations

import hashlib
import json

from ttsbuild.core.request import PostStage, RenderRequest

KEY_LENGTH = 20
KEY_PATTERN = f"[0-9a-f]{{{KEY_LENGTH}}}"

#: Bump when ttsbuild's own post-processing (clean-up) changes the sound of a synthesis output.
#: 2: pitch left the synthesis request for the effects stage (issue 15).
RENDER_PIPELINE_VERSION = 2

#: Bump when how ttsbuild runs post stages changes what a post stage's output holds (synthesis
#: keys stay: an upgrade re-runs only post stages, never the engine).
#: 2: a post stage reads its input's stored bytes, never the engine's unquantized output
#: (issue 22: before, the same key held two contents depending on the build's history).
STAGE_PIPELINE_VERSION = 2


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_material(request: RenderRequest) -> dict[str, object]:
    """What the key hashes: the request's own identity plus the key version."""
    return {"pipeline": RENDER_PIPELINE_VERSION, **request.identity()}


def segment_key(request: RenderRequest) -> str:
    """The content hash naming a segment's file in the store.

    >>> from ttsbuild.core.request import RenderRequest, Voice
    >>> r = RenderRequest("Hi.", "piper", "1", "m", "en", Voice("/a/b.onnx", "abc"), (), 7)
    >>> segment_key(r) == segment_key(RenderRequest("Hi.", "piper", "1", "m", "en",
    ...                                             Voice("/elsewhere.onnx", "abc"), (), 7))
    True
    """
    digest = hashlib.sha256(canonical_json(key_material(request)).encode("utf-8"))
    return digest.hexdigest()[:KEY_LENGTH]


def stage_key(input_key: str, stage: PostStage) -> str:
    """The key of a post stage's output: its input's key, its own identity and version.

    A change to a post stage changes its key and every later stage's (their input changed),
    never the synthesis key before it.

    >>> from ttsbuild.core.effects import resolve_chain
    >>> s = PostStage("effects", "1", resolve_chain(["telephone"]))
    >>> stage_key("a" * 20, s) != stage_key("b" * 20, s)
    True
    """
    material = {
        "pipeline": RENDER_PIPELINE_VERSION,
        "stages": STAGE_PIPELINE_VERSION,
        "input": input_key,
        **stage.identity(),
    }
    digest = hashlib.sha256(canonical_json(material).encode("utf-8"))
    return digest.hexdigest()[:KEY_LENGTH]


def chain_keys(request: RenderRequest, stages: tuple[PostStage, ...]) -> tuple[str, ...]:
    """The keys of a segment's stage chain: synthesis first, then each post stage's."""
    keys = [segment_key(request)]
    for stage in stages:
        keys.append(stage_key(keys[-1], stage))
    return tuple(keys)


def derive_seed(*parts: object) -> int:
    """A deterministic 31-bit seed from content (used when the script gives none)."""
    digest = hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
