# ttsbuild: make for audio. See README.md; the rules live in rules/, the logic in ttsbuild/.
from snakemake.utils import min_version, validate

import ttsbuild.workflow as ttsbuild_workflow
from ttsbuild.cachekey import KEY_PATTERN
from ttsbuild.config import SCHEMA_PATH

min_version("9.0")


# A bad config file gets one clear line (file:line) before Snakemake reads it.
ttsbuild_workflow.preflight("config/config.yaml")


configfile: "config/config.yaml"


BUILD = ttsbuild_workflow.load_build(config, workflow)
validate(config, schema=str(SCHEMA_PATH))


wildcard_constraints:
    episode=r"[A-Za-z0-9_.-]+",
    key=KEY_PATTERN,


include: "rules/render.smk"
include: "rules/assemble.smk"


localrules:
    assemble,
    encode,
    all,


onsuccess:
    ttsbuild_workflow.finish(BUILD, success=True)


onerror:
    ttsbuild_workflow.finish(BUILD, success=False)


rule all:
    default_target: True
    input:
        expand("out/{episode}.wav", episode=list(BUILD.project.episodes)),
