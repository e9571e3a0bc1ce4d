"""Stage 6, delivery: the mastered episode re-encoded into the formats users ship (FLAC,
MP3, Opus).

May import: core, config.
"""
