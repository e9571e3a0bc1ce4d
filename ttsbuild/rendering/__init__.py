"""Stage 4, rendering: missing segments synthesized into the store, one model load per process.

Owns: render jobs and batch manifests (:mod:`~ttsbuild.rendering.batch`), the model manager,
the render loop with ASR verification, and the warm render server.
May import: core, config, engines, planning, store.
"""
