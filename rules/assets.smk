# Voice assets: one mastered file per line in a build-owned folder, a manifest and a change
# report (docs/assets.md). Same inputs as assemble: building both renders each line once.
rule assets:
    input:
        plan=BUILD.plan_input,
        segments=BUILD.segments_input,
    output:
        manifest="out/{episode}.assets.json",
        changes="out/{episode}.assets-changes.json",
    log:
        "logs/assets/{episode}.log",
    params:
        # a changed setting re-runs the rule (Snakemake's params rerun trigger)
        settings=BUILD.assets_params,
    run:
        ttsbuild_workflow.assets(
            BUILD,
            wildcards.episode,
            input.plan,
            output.manifest,
            output.changes,
            log[0],
        )
