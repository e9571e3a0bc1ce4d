"""Every source reader on inputs of 1x, 10x and 100x size: the time ratios say whether it is
linear (a ratio near 10 per step; 100 or more is quadratic).

    .venv/bin/python bench/parsers.py            # every shape
    .venv/bin/python bench/parsers.py fountain   # shapes whose name contains "fountain"

Shapes: ordinary text of each format (scaled by the number of lines) and the pathological
shapes of issue 25 (scaled by the length of one line, one paragraph or the nesting depth). A
size is skipped once the size before it took over ``--cap`` seconds (default 20), so a run on
a quadratic reader ends; the ratio printed is then ``>``. Figures are from one run on whatever
machine runs it: compare ratios, not seconds (the machine may be shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ttsbuild.sources import parse_source  # noqa: E402
from ttsbuild.sources.common import default_options  # noqa: E402
from ttsbuild.sources.script import parse_script  # noqa: E402
from ttsbuild.sources.subtitles import parse_srt  # noqa: E402


def _fountain_dialogue(n: int) -> str:
    return "".join(f"\nBOB\n(quietly)\nLine {i} is *spoken* here.\n" for i in range(n))


def _fdx(body: str) -> str:
    return f'<?xml version="1.0"?><FinalDraft><Content>{body}</Content></FinalDraft>'


def _fdx_dialogue(n: int) -> str:
    para = (
        '<Paragraph Type="Character"><Text>ANN</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>Line {i}.</Text></Paragraph>\n'
    )
    return _fdx("".join(para.format(i=i) for i in range(n)))


def _fdx_nested(n: int) -> str:
    return _fdx("<x>" * n + "</x>" * n)


def _play(n: int) -> str:
    return "".join(f"HAMLET:\nLine {i}, my lord. [Aside.]\n\n" for i in range(n))


def _table(n: int) -> str:
    return "id,character,text\n" + "".join(f"a{i},Ann,Line {i} here.\n" for i in range(n))


def _script(n: int) -> str:
    return "".join(f"[Alice|speed:0.9] Line {i} here.\nThe narrator {i}.\n" for i in range(n))


def _srt(n: int) -> str:
    return "".join(
        f"{i + 1}\n00:00:{i % 60:02d},000 --> 00:00:{i % 60:02d},500\nLine {i}.\n\n"
        for i in range(n)
    )


def _source(fmt: str) -> Callable[[str], object]:
    options = default_options()
    return lambda text: parse_source(text.encode(), fmt, f"bench.{fmt}", options)


# name: (make input of size n, reader, n at 1x)
SHAPES: dict[str, tuple[Callable[[int], str], Callable[[str], object], int]] = {
    "fountain dialogue (lines)": (_fountain_dialogue, _source("fountain"), 200),
    "fountain capitals line + lowercase": (lambda n: "\n" + "A" * n + "a\nx\n", _source("fountain"), 100),
    "fountain 'A (' repeated": (lambda n: "\n" + "A (" * n + "\nx\n", _source("fountain"), 10),
    "fountain [[notes]]": (lambda n: "[[note]]\n" * n + "Action.\n", _source("fountain"), 100),
    "fdx dialogue (paragraphs)": (_fdx_dialogue, _source("fdx"), 200),
    "fdx nested elements": (_fdx_nested, _source("fdx"), 100),
    "play speeches (lines)": (_play, _source("play"), 200),
    "play paragraph starting _A": (lambda n: "_A " + "word " * n + "\n", _source("play"), 200),
    "table rows": (_table, _source("table"), 200),
    "script lines": (_script, lambda t: parse_script(t, "bench.txt"), 200),
    "srt cues": (_srt, lambda t: parse_srt(t, "bench.srt"), 200),
}  # fmt: skip


def _time(reader: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(3 if len(text) < 200_000 else 1):
        started = time.perf_counter()
        reader(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="?", default="")
    parser.add_argument("--cap", type=float, default=20.0)
    args = parser.parse_args()
    print(f"{'shape':40} {'1x s':>9} {'10x s':>9} {'100x s':>9} {'10x/1x':>7} {'100x/10x':>8}")
    for name, (make, reader, base) in SHAPES.items():
        if args.only not in name:
            continue
        times: list[float | None] = []
        for factor in (1, 10, 100):
            if times and (times[-1] is None or times[-1] > args.cap):
                times.append(None)
                continue
            times.append(_time(reader, make(base * factor)))
        cells = [f"{t:9.4f}" if t is not None else f"{'skipped':>9}" for t in times]
        ratios = []
        for a, b in ((times[0], times[1]), (times[1], times[2])):
            if a is None:
                ratios.append("-")
            elif b is None:
                ratios.append(f">{args.cap / a:.0f}")
            else:
                ratios.append(f"{b / a:.1f}")
        print(f"{name:40} {' '.join(cells)} {ratios[0]:>7} {ratios[1]:>8}", flush=True)


if __name__ == "__main__":
    main()
