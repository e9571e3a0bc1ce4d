"""Finding model weights: a local checkpoint folder, the Hugging Face cache, or the hub.

Order: ``engines.<name>.checkpoint_dir`` from config (must hold every required file); else the
files already in the user's Hugging Face cache; else a download from the hub, unless
``HF_HUB_OFFLINE`` is set, in which case a clear :class:`EngineError` says which files to put
where. Imports ``huggingface_hub`` only when called.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from ttsbuild.core.errors import EngineError

log = logging.getLogger(__name__)


def hub_offline() -> bool:
    """True when Hugging Face hub access is switched off (``HF_HUB_OFFLINE``)."""
    value = os.environ.get("HF_HUB_OFFLINE", "")
    return value.strip().lower() in ("1", "on", "yes", "true")


def local_files(engine: str, folder: str | Path, files: Sequence[str]) -> dict[str, Path]:
    """Required ``files`` in a configured checkpoint folder, or an error listing what is missing."""
    base = Path(folder)
    if not base.is_dir():
        raise EngineError(
            f"engine '{engine}': checkpoint_dir '{base}' is not a folder "
            f"(config key engines.{engine}.checkpoint_dir)"
        )
    missing = [f for f in files if not (base / f).is_file()]
    if missing:
        raise EngineError(
            f"engine '{engine}': checkpoint_dir '{base}' lacks {', '.join(missing)} "
            f"(config key engines.{engine}.checkpoint_dir; see docs/engines.md)"
        )
    return {f: base / f for f in files}


def hub_files(engine: str, repo_id: str, files: Sequence[str]) -> dict[str, Path]:
    """``files`` of ``repo_id`` from the Hugging Face cache, downloading them when online."""
    from huggingface_hub import hf_hub_download

    try:
        return {f: Path(hf_hub_download(repo_id, f, local_files_only=True)) for f in files}
    except Exception as exc:  # noqa: BLE001 - any lookup failure means: not (all) cached
        log.debug("%s: %s not in the Hugging Face cache: %s", engine, repo_id, exc)
    if hub_offline():
        raise EngineError(
            f"engine '{engine}': model weights not found and HF_HUB_OFFLINE is set: put "
            f"{', '.join(files)} (from https://huggingface.co/{repo_id}) in one folder and set "
            f"engines.{engine}.checkpoint_dir to it in config/config.yaml"
        )
    log.info("ttsbuild: downloading %s from the Hugging Face hub", repo_id)
    try:
        return {f: Path(hf_hub_download(repo_id, f)) for f in files}
    except Exception as exc:  # noqa: BLE001 - network, auth, disk: one clear line for all
        raise EngineError(
            f"engine '{engine}': could not download {repo_id} ({str(exc).splitlines()[0]}); "
            f"put {', '.join(files)} in one folder and set engines.{engine}.checkpoint_dir"
        ) from None


def fingerprint(engine: str, folder: str | Path, files: Sequence[str]) -> str:
    """A short hash of a checkpoint folder's files, so swapped weights change segment keys.

    File hashes are memoized by path, size and mtime (:mod:`ttsbuild.core.content`), so a large
    checkpoint is read once, not at every plan.
    """
    import hashlib

    from ttsbuild.core.content import content_hash

    paths = local_files(engine, folder, files)
    digest = hashlib.sha256()
    for name in sorted(paths):
        digest.update(f"{name}={content_hash(paths[name])};".encode())
    return digest.hexdigest()[:12]


def load_failed(engine: str, where: str | Path, exc: BaseException) -> EngineError:
    """One line for a checkpoint that is there but does not load (corrupt, wrong model, ...)."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return EngineError(f"engine '{engine}' failed to load from {where}: {reason}")
