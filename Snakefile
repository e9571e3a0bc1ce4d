# ttsbuild: make for audio. See README.md; the rules live in rules/, the logic in ttsbuild/.
from snakemake.utils import min_version

import ttsbuild.workflow as ttsbuild_workflow

min_version("9.0")


# A config file with a YAML error gets one clear line (file:line) before Snakemake reads it;
# --configfile is honoured. The schema validation (defaults filled) happens once, in load_build.
ttsbuild_workflow.preflight(workflow)


configfile: "config/config.yaml"


BUILD = ttsbuild_workflow.load_build(config, workflow)


wildcard_constraints:
    episode=r"[A-Za-z0-9_.-]+",


include: "rules/render.smk"
include: "rules/assemble.smk"
include: "rules/assets.smk"


localrules:
    assemble,
    assets,
    stems,
    mix,
    mux,
    encode,
    all,


# Ctrl-C or SIGTERM: rendering stops between segments, finished ones are kept, exit 130 (143).
onstart:
    ttsbuild_workflow.start(BUILD)


onsuccess:
    ttsbuild_workflow.finish(BUILD, success=True)


onerror:
    ttsbuild_workflow.finish(BUILD, success=False)


rule all:
    default_target: True
    input:
        expand("out/{episode}.wav", episode=list(BUILD.project.episodes)),
        BUILD.mixes(),
