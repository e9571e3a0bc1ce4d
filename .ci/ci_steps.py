"""Print a CI job file's shell steps as a bash script, to run them as the CI system would.

    python ci_steps.py github .github/workflows/ttsbuild.yml > steps.sh
    python ci_steps.py gitlab .gitlab-ci.yml > steps.sh

GitHub Actions: every job's ``env:`` (``${{ github.workspace }}`` is the project directory,
$GITHUB_WORKSPACE) and its ``run:`` steps in order (``uses:`` steps are the runner's: checkout,
Python, cache, upload; the caller stands in for them). GitLab CI: each job's ``variables:``
and ``script:`` lines ($CI_PROJECT_DIR). Each step runs verbatim; the first failure stops.
"""

from __future__ import annotations

import shlex
import sys

import yaml


def github(doc: dict) -> list[str]:
    lines: list[str] = []
    for job in doc["jobs"].values():
        for name, value in (job.get("env") or {}).items():
            value = str(value).replace("${{ github.workspace }}", "$GITHUB_WORKSPACE")
            lines.append(f'export {name}="{value}"')
        lines += [step["run"] for step in job["steps"] if "run" in step]
    return lines


def gitlab(doc: dict) -> list[str]:
    lines: list[str] = []
    for job in doc.values():
        if not isinstance(job, dict) or "script" not in job:
            continue
        for var, value in (job.get("variables") or {}).items():
            lines.append(f'export {var}="{value}"')
        lines += list(job["script"])
    return lines


def main(kind: str, path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    steps = {"github": github, "gitlab": gitlab}[kind](doc)
    print("set -euo pipefail")
    for step in steps:
        if not step.startswith("export "):
            print(f"echo '+ '{shlex.quote(step)}")
        print(step)


if __name__ == "__main__":
    main(*sys.argv[1:3])
