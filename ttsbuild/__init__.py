"""ttsbuild: a declarative build tool that turns scripts and subtitles into finished speech audio."""

from ttsbuild.core.errors import TTSBuildError

__version__ = "0.1.0"
__all__ = ["TTSBuildError", "__version__"]
