"""The system's ffmpeg, for what soundfile cannot read: a video's audio track (a bed) and
muxing an episode's mix into a copy of the video (docs/mixing.md).

ffmpeg is a system package (Debian: ``apt-get install ffmpeg``), never a Python dependency;
without it, only these features fail, each with one line naming the package.

Imports: nothing of ttsbuild but core.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import RenderError

#: Suffixes read as video (their audio track) rather than with soundfile.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mxf", ".ts"})


def ffmpeg(what: str) -> str:
    """The ffmpeg executable, or a :class:`RenderError` naming the system package."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise RenderError(
            f"{what} needs ffmpeg, which is not installed: install the system package 'ffmpeg' "
            "(Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)"
        )
    return path


def _run(cmd: list[str], what: str, timeout: float) -> bytes:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{what}: ffmpeg took longer than {timeout:.0f} s") from None
    if proc.returncode != 0:
        last = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise RenderError(f"{what}: ffmpeg failed ({last[:300]})")
    return proc.stdout


def video_audio(path: str | Path, sample_rate: int, timeout: float = 3600) -> Audio:
    """The first audio track of a video, mixed down to mono at ``sample_rate``."""
    what = f"{path}: reading the video's audio track"
    cmd = [ffmpeg(what), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn"]
    cmd += ["-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-c:a", "pcm_f32le", "-"]
    data = _run(cmd, what, timeout)
    if not data:
        raise RenderError(f"{path}: the video has no audio track to use as the bed")
    return Audio(np.frombuffer(data, dtype="<f4").copy(), sample_rate)


def mux_video(video: str | Path, audio: str | Path, out: str | Path, timeout: float = 3600) -> None:
    """A copy of ``video`` with ``audio`` as its only audio track (video stream copied, audio
    AAC, bit-exact flags so the same inputs give the same file)."""
    what = f"{out}: muxing the mix into the video"
    cmd = [ffmpeg(what), "-nostdin", "-v", "error", "-y", "-i", str(video), "-i", str(audio)]
    cmd += ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k"]
    cmd += ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    cmd += ["-movflags", "+faststart", str(out)]
    _run(cmd, what, timeout)
