# One render job per batch of segments missing from the store (one model load per job; one
# engine per batch). Each output is one content-hashed segment file; segments already stored
# are not in the DAG. Resources come from the engine's config (engines.<name>.resources).
# update(): Snakemake must never delete a segment before the job runs. Another build sharing
# the store may have finished it since this one planned; render_one then skips it.
# planned: new each run, so a render job always runs. A render job exists only while one of its
# segments is missing, and Snakemake does not rerun a job just because an output is missing
# when everything downstream is up to date (all segments deleted by verify or gc).
for _batch_id in BUILD.batches:

    rule:
        name:
            f"render_{_batch_id}"
        output:
            update(BUILD.batch_outputs(_batch_id)),
        log:
            f"logs/render/{_batch_id}.log",
        benchmark:
            f"benchmarks/render/{_batch_id}.tsv"
        resources:
            **BUILD.batch_resources(_batch_id),
        params:
            batch=_batch_id,
            planned=BUILD.planned_at,
        run:
            ttsbuild_workflow.render_batch(BUILD, params.batch, list(output), log[0])
