"""Generate benchmark projects: N script lines across three characters."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = (
    "the lighthouse keeper watched storm boat harbour lantern winter morning dog stairs kettle "
    "stove blanket logbook tide rocks wind sea grey quiet narrow careful small brown cold"
).split()

# Short Japanese sentences for the Kokoro builds (Kokoro-82M here reads Japanese only); three
# of them per line, chosen by the line's index, so 1,728 lines are all distinct.
JAPANESE = (
    "今日は寒いですね。",
    "温かいお茶をお持ちします。",
    "駅までの道を教えてください。",
    "昨日、古い友達から手紙が届きました。",
    "雨がやんだら散歩しましょう。",
    "この店のお菓子は町の人に愛されています。",
    "灯台の明かりが海を照らしています。",
    "港には小さな船が並んでいます。",
    "冬の朝は静かです。",
    "犬が階段を上ってきました。",
    "窓の外で風が鳴っています。",
    "夕方には雪が降るそうです。",
)

CONFIG = """\
engine: {engine}
language: {language}
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


def japanese_text(i: int) -> str:
    k = len(JAPANESE)
    if i >= k**3:
        raise ValueError(f"at most {k**3} distinct Japanese lines")
    return JAPANESE[i % k] + JAPANESE[(i // k) % k] + JAPANESE[(i // k // k) % k]


def script_lines(n: int, seed: int = 1, language: str = "en") -> list[str]:
    rng = random.Random(seed)
    speakers = ["narrator", "alice", "bob"]
    if language == "ja":
        return [f"[{speakers[i % 3]}] {japanese_text(i)}" for i in range(n)]
    return [f"[{speakers[i % 3]}] {line_text(i, rng)}" for i in range(n)]


def make_project(
    root: Path,
    n: int,
    engine: str = "fake",
    batch_size: int = 100,
    workers: int | None = None,
    language: str = "en",
) -> Path:
    """``workers``: ``engines.<engine>.workers`` (None: not set, the schema's auto)."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    config = CONFIG.format(engine=engine, batch_size=batch_size, language=language)
    if workers is not None:
        config += f"engines:\n  {engine}: {{workers: {workers}}}\n"
    (root / "config" / "config.yaml").write_text(config, encoding="utf-8")
    (root / "scripts" / "ep.txt").write_text(
        "\n".join(script_lines(n, language=language)) + "\n", encoding="utf-8"
    )
    return root


def edit_one_line(root: Path, index: int) -> None:
    path = root / "scripts" / "ep.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[index] = lines[index].rstrip(".") + ", edited."
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
