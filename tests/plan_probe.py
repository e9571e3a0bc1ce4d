"""Plan the project in the working directory as the Snakefile does (one ``Build`` in a fresh
process) and print one JSON line: whether the plans were reused, the plans, and the project
(its ``repr``: a reused plan builds it from the validated config the cache kept).

For tests/test_plan_cache.py. With ``PLAN_PROBE_MARKS=<prefix>`` the recording window is
bracketed by a stat of ``<prefix>-begin`` and ``<prefix>-end`` (nonexistent paths, for finding
the window in an ``strace`` log) and what the recorder saw is written to ``<prefix>.seen.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ttsbuild.workflow.plan_cache as plan_cache
from ttsbuild.config.schema import DEFAULT_CONFIG_FILE, read_config_file
from ttsbuild.workflow.build import Build
from ttsbuild.workflow.logs import setup_logging


def _marked(prefix: str) -> Any:
    recording = plan_cache.recording

    @contextlib.contextmanager
    def marked(excluded: frozenset[str] = frozenset()) -> Iterator[plan_cache.Recorder]:
        with contextlib.suppress(OSError):
            os.stat(prefix + "-begin")
        with recording(excluded) as rec:
            yield rec
        with contextlib.suppress(OSError):
            os.stat(prefix + "-end")
        seen = {"seen": sorted(rec.seen), "excluded": sorted(excluded)}
        Path(prefix + ".seen.json").write_text(json.dumps({**seen, "refused": rec.uncacheable}))

    return marked


def main() -> None:
    # files written a moment ago are not vouched for (plan_cache.RACY_MARGIN_NS); the tests
    # write their projects just before planning them, so they set the margin they test
    plan_cache.RACY_MARGIN_NS = int(os.environ.get("PLAN_PROBE_RACY_NS", "0"))
    prefix = os.environ.get("PLAN_PROBE_MARKS")
    if prefix:
        plan_cache.recording = _marked(prefix)
    setup_logging()
    config = read_config_file(Path(DEFAULT_CONFIG_FILE), DEFAULT_CONFIG_FILE)
    build = Build(config)
    plans = {name: plan.to_dict() for name, plan in build.plans.items()}
    out = {"reused": build.reused_plans, "plans": plans, "project": repr(build.project)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
