"""The ttsbuild error hierarchy.

Every error a user can cause is a :class:`TTSBuildError` whose message is one line that names
the file (and line or key) and says how to fix it.
"""

from __future__ import annotations

from pathlib import Path


class TTSBuildError(Exception):
    """Base class of every error ttsbuild raises on purpose."""


def _where(path: str | Path | None, line: int | None) -> str:
    if path is None:
        return ""
    return f"{path}:{line}: " if line is not None else f"{path}: "


class LocatedError(TTSBuildError):
    """An error at a place in a user's file: ``file:line: message``."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.bare_message = message
        super().__init__(f"{_where(path, line)}{message}")


class ScriptError(LocatedError):
    """A malformed or inconsistent script (.txt) file."""


class SubtitleError(LocatedError):
    """A malformed subtitle (.srt) file."""


class SourceError(LocatedError):
    """A malformed episode source in another format (Fountain, FDX, play, dialogue table)."""


class TimingError(LocatedError):
    """Subtitle timing that would lose or distort speech, with ``timing: {strict: true}``."""


class ConfigError(LocatedError):
    """An invalid project configuration."""


class VoiceError(LocatedError):
    """A missing, unreadable or unusable voice reference."""


class EngineError(TTSBuildError):
    """An engine that is unknown, not installed, or failed to load."""


class RenderError(TTSBuildError):
    """A segment whose synthesis failed or produced unusable audio."""


class BuildInterrupted(TTSBuildError):
    """SIGINT or SIGTERM arrived: rendering stopped between segments; what finished is kept."""


class StoreError(TTSBuildError):
    """A problem with the segment store."""


def read_source(path: str | Path, shown: str, error: type[LocatedError], what: str) -> bytes:
    """The bytes of an episode source; a missing or unreadable file is one located error, and
    so is anything but a regular file of at most :data:`files.MAX_SOURCE_BYTES`."""
    from ttsbuild.core.files import NotRegularFileError, read_regular

    try:
        return read_regular(path)
    except FileNotFoundError:
        raise error(
            f"{what} file not found; check the episode's 'source:' in the config", shown
        ) from None
    except NotRegularFileError as exc:
        raise error(f"cannot read {what}: {exc}", shown) from None
    except IsADirectoryError:
        raise error(f"cannot read {what}: it is a directory, not a regular file", shown) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}", shown) from None


class AssetError(TTSBuildError):
    """A voice-asset build that breaks a policy (a removed line id in strict mode)."""
