#!/usr/bin/env bash
# A stand-in for sbatch: runs each Snakemake job script as its own background process (as a
# cluster node would) and prints a job id. Arguments before the job script are the resources
# Snakemake filled into the submit command; they are recorded in $TTSBUILD_SUBMIT_LOG.
jobscript="${@: -1}"
if [ -n "${TTSBUILD_SUBMIT_LOG:-}" ]; then
  echo "${@:1:$#-1}" >>"$TTSBUILD_SUBMIT_LOG"
fi
nohup bash "$jobscript" >"${jobscript}.out" 2>&1 &
echo "local-$!"
