"""Stage 5, assembly: stored segments placed on a timeline, mastered and written as one
episode, with its SRT and timing report.

Owns: placement (scripts and subtitle cues, in integer samples), the clip cache, loudness
measurement and true-peak limiting (:mod:`~ttsbuild.assembly.mastering`).
May import: core, config, planning, store.
"""
