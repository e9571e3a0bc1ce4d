"""Stage 2, planning: script items resolved against the project into segments with keys.

Owns: :class:`~ttsbuild.planning.plan.EpisodePlan` (and its file form), the
:class:`~ttsbuild.planning.planner.Planner`, and the one cache-key function
(:mod:`ttsbuild.planning.key`): where a line of script becomes a segment key.
May import: core, config, sources, engines (declared info and voices only; never a model load).
"""
