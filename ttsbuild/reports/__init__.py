"""Stage 7, reports: what a build did (JSON and HTML reports) and why a segment will render
(``explain``).

May import: every earlier stage (read-only).
"""
