"""Stage 6, delivery: the mastered episode re-encoded into the formats users ship (FLAC,
MP3, Opus), and voice assets: one mastered file per line with a manifest (``assets.py``).

May import: core, config, planning, store, assembly (assets reuse the episode's mastering).
"""
