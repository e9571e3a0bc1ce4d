#!/usr/bin/env bash
# The wheel path end to end, as a user takes it (issue 24; docs/ci.md):
#   1. build the wheel from this checkout (pip wheel: whatever installs from PyPI);
#   2. install it with the piper extra into a fresh venv OUTSIDE the checkout (pip's cache);
#   3. `ttsbuild init` a project in a temporary folder, `snakemake -j1 out/episode01.wav` there;
#   4. the CI jobs that `init --ci github|gitlab` writes (and docs/ci.md shows; a test keeps them
#      equal), their run:/script: steps verbatim, twice each: a cold run, then a fresh copy of
#      the project with two lines edited and the store and assets folder restored from a cache
#      folder, which must render exactly the two edited lines.
# Nothing here may see the checkout: the project runs from /tmp with the checkout off the path.
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/ttsbuild-wheel-XXXXXX)"
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONPATH VIRTUAL_ENV

# 1. The wheel.
python3 -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$checkout"
wheel="$(ls "$work"/dist/ttsbuild-*.whl)"
python3 - "$wheel" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
for need in ("ttsbuild/workflow/files/Snakefile", "ttsbuild/workflow/files/rules/render.smk",
             "ttsbuild/workflow/files/profiles/ci/config.yaml", "ttsbuild/cli/templates/ci/github.yml"):
    assert need in names, f"{need} is not in the wheel"
PY

# 2. A fresh venv outside the checkout.
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel[piper]"
export PATH="$work/venv/bin:$PATH"
cd "$work"
python - <<PY
import ttsbuild, ttsbuild.workflow.installed as i
assert not ttsbuild.__file__.startswith("$checkout"), ttsbuild.__file__
assert i.workflow_dir() == i.PACKAGED, i.workflow_dir()
PY

# 3. init, then the README's build command in the project.
ttsbuild init project --ci github --ci gitlab
(cd project && snakemake --lint && snakemake -j1 out/episode01.wav && test -s out/episode01.wav)
git -C project init --quiet && git -C project add -A   # what a clone of the project holds
git -C project -c user.name=ci -c user.email=ci@localhost commit --quiet -m init
fresh() { mkdir -p "$1" && git -C project archive HEAD | tar -x -C "$1"; }  # a fresh clone

# 4. The CI jobs, twice each, with the cache restored between the runs.
rendered() { python -c "import json; print(json.load(open('out/build-report.json'))['rendered_now'])"; }
for ci in github gitlab; do
  file=$([ "$ci" = github ] && echo .github/workflows/ttsbuild.yml || echo .gitlab-ci.yml)
  cache="$work/cache-$ci"
  mkdir -p "$cache"
  for run in 1 2; do
    dir="$work/$ci-run$run"
    fresh "$dir"
    if [ "$run" = 2 ]; then  # the edit: two lines' text changes
      sed -i -e 's/Nobody sails this coast in winter\./Nobody sails this coast in January./' \
             -e 's/And so they did\./And so they did, all winter long./' "$dir/scripts/episode01.txt"
      cp -a "$cache/." "$dir/"   # the CI cache restored
    fi
    python "$checkout/.ci/ci_steps.py" "$ci" "$dir/$file" > "$work/steps.sh"
    (cd "$dir" && GITHUB_WORKSPACE="$dir" CI_PROJECT_DIR="$dir" bash "$work/steps.sh")
    n=$(cd "$dir" && rendered)
    echo "$ci run $run: $n segments rendered"
    if [ "$run" = 1 ]; then
      [ "$n" -gt 2 ] || { echo "FAIL: the cold run rendered $n segments"; exit 1; }
    else
      [ "$n" = 2 ] || { echo "FAIL: the run after the edit rendered $n segments, not 2"; exit 1; }
    fi
    test -s "$dir/out/report.html" && test -s "$dir/out/episode01.assets.json"
    rm -rf "$cache" && mkdir -p "$cache/out"   # the CI cache saved: the store, the assets folder
    cp -a "$dir/.tts-store" "$cache/" && cp -a "$dir/out/episode01" "$cache/out/"
  done
done
echo "wheel path ok: wheel, fresh venv, init, build, GitHub and GitLab jobs twice with a cache"
