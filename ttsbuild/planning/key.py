"""The one cache-key function, and seed derivation.

A segment's key is sha256 over canonical JSON of the fully resolved request: normalized text,
engine id and version, model id, language, the voice's content hash, parameters rounded to
fixed precision, and the seed. Paths, devices and timestamps never enter it.
"""

from __future__ import annotations

import hashlib
import json

from ttsbuild.core.request import RenderRequest

KEY_LENGTH = 20
KEY_PATTERN = f"[0-9a-f]{{{KEY_LENGTH}}}"

#: Bump when ttsbuild's own post-processing (pitch shift, clean-up) changes the sound.
RENDER_PIPELINE_VERSION = 1


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


def derive_seed(*parts: object) -> int:
    """A deterministic 31-bit seed from content (used when the script gives none)."""
    digest = hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
