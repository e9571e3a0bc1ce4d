"""Stage 1, sources: episode files (bracket scripts, subtitles) read and parsed into frozen
script items, with file:line errors.

Owns: decoding of source files and the script language. Pure functions; no engine, no config.
May import: :mod:`ttsbuild.core`.
"""
