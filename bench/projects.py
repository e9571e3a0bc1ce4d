"""Generate benchmark projects: N script lines across three characters."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = (
    "the lighthouse keeper watched storm boat harbour lantern winter morning dog stairs kettle "
    "stove blanket logbook tide rocks wind sea grey quiet narrow careful small brown cold"
).split()

CONFIG = """\
engine: {engine}
batch_size: {batch_size}
characters:
  narrator: {{voice: bundled}}
  alice: {{voice: bundled, params: {{pitch: 3.0, speed: 1.08}}}}
  bob: {{voice: bundled, params: {{speed: 0.92}}}}
episodes:
  ep: {{source: scripts/ep.txt}}
"""


def line_text(i: int, rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 12))]
    return f"Line {i}: " + " ".join(words).capitalize() + "."


def script_lines(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    speakers = ["narrator", "alice", "bob"]
    return [f"[{speakers[i % 3]}] {line_text(i, rng)}" for i in range(n)]


def make_project(
    root: Path, n: int, engine: str = "fake", batch_size: int = 100, workers: int | None = None
) -> Path:
    """``workers``: ``engines.<engine>.workers`` (None: not set, the schema's auto)."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    config = CONFIG.format(engine=engine, batch_size=batch_size)
    if workers is not None:
        config += f"engines:\n  {engine}: {{workers: {workers}}}\n"
    (root / "config" / "config.yaml").write_text(config, encoding="utf-8")
    (root / "scripts" / "ep.txt").write_text("\n".join(script_lines(n)) + "\n", encoding="utf-8")
    return root


def edit_one_line(root: Path, index: int) -> None:
    path = root / "scripts" / "ep.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[index] = lines[index].rstrip(".") + ", edited."
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
