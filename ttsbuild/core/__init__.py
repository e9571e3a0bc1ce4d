"""Stage 0, core values every stage shares: the audio value, the render request, errors,
text normalization, content hashing and atomic file writes.

Owns: :class:`~ttsbuild.core.audio.Audio` (the one audio value type),
:class:`~ttsbuild.core.request.RenderRequest` (and its serialized form), the
:class:`~ttsbuild.core.errors.TTSBuildError` hierarchy, :mod:`~ttsbuild.core.fsutil`.
May import: nothing of ttsbuild.
"""
