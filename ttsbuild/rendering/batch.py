"""Render jobs and batch manifests: the one form a batch of segments takes on disk and on a socket.

The main Snakemake process freezes each batch into ``build/.ttsbuild/batches/<id>.json``
(:meth:`Batch.write`); job processes on cluster nodes read them back (:meth:`Batch.read`); the
render server receives the same job form (:meth:`RenderJob.to_dict`).

Imports: core and planning.plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttsbuild.core.fsutil import write_text_if_changed
from ttsbuild.core.request import RenderRequest
from ttsbuild.planning.plan import StageOutput
from ttsbuild.store.segments import valid_key


def check_key(key: object) -> str:
    """``key`` if it is a segment key, else ValueError (a key becomes a file name in the store,
    so ``../x`` or ``/etc/passwd`` must never get that far).

    >>> check_key("../../x")
    Traceback (most recent call last):
    ...
    ValueError: not a segment key: '../../x'
    """
    if not valid_key(key):
        raise ValueError(f"not a segment key: {str(key)[:80]!r}")
    assert isinstance(key, str)
    return key


@dataclass(frozen=True)
class RenderJob:
    """One segment's stage chain to run, with where it came from (for error messages).

    ``key`` is the synthesis output's key; ``post`` the post stages after it. ``outputs`` are
    the stage outputs this job must create (those missing when the build planned, and not
    claimed by another job): they are the job's declared Snakemake outputs.
    """

    key: str
    request: RenderRequest
    where: str  # "scripts/episode01.txt:12"
    speaker: str
    post: tuple[StageOutput, ...] = ()
    outputs: tuple[str, ...] = ()
    uid: str = ""  # the line's identity, recorded in the sidecars (gc, explain)

    @property
    def final_key(self) -> str:
        return self.post[-1].key if self.post else self.key

    @property
    def keys(self) -> tuple[str, ...]:
        """Synthesis first, then every post stage's output."""
        return (self.key, *(s.key for s in self.post))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "request": self.request.to_dict(),
            "where": self.where,
            "speaker": self.speaker,
            "post": [s.to_dict() for s in self.post],
            "outputs": list(self.outputs),
            **({"uid": self.uid} if self.uid else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderJob:
        """Raises ValueError for any key that is not a segment key: the synthesis key, every
        post stage's output key and every declared output (keys become file names in the
        store). This is the one check, for the render server, runtime workers and cluster
        jobs alike: each reads jobs through here."""
        post = tuple(StageOutput.from_dict(s) for s in data.get("post") or ())
        outputs = tuple(data.get("outputs") or (data["key"],))
        for key in (data["key"], *(s.key for s in post), *outputs):
            check_key(key)
        return cls(
            data["key"],
            RenderRequest.from_dict(data["request"]),
            str(data["where"]),
            str(data["speaker"]),
            post,
            tuple(str(k) for k in outputs),
            str(data.get("uid") or ""),
        )


@dataclass(frozen=True)
class Batch:
    """Segments rendered by one render job: one engine, one model load."""

    id: str
    episode: str
    engine: str
    jobs: tuple[RenderJob, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every stage output the batch creates (its Snakemake outputs)."""
        return tuple(k for j in self.jobs for k in j.outputs)

    @staticmethod
    def make_id(keys: Sequence[str]) -> str:
        return hashlib.sha256(" ".join(keys).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "episode": self.episode,
            "engine": self.engine,
            "jobs": [j.to_dict() for j in self.jobs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Batch:
        return cls(
            str(data["id"]),
            str(data["episode"]),
            str(data["engine"]),
            tuple(RenderJob.from_dict(j) for j in data["jobs"]),
        )

    def write(self, folder: Path) -> None:
        write_text_if_changed(folder / f"{self.id}.json", json.dumps(self.to_dict()))

    @classmethod
    def read(cls, folder: Path, batch_id: str) -> Batch | None:
        """A frozen manifest, or None when it is missing or unreadable."""
        try:
            data = json.loads((folder / f"{batch_id}.json").read_text("utf-8"))
            return cls.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
