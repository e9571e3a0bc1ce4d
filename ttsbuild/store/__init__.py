"""Stage 3, the segment store: content-hashed segment files, sidecars, locks, verify and gc.

Owns: the on-disk layout of a store and its crash-safety and concurrency guarantees.
May import: core, planning.key.
"""
