# One render job per batch of segments missing from the store (one model load per job; one
# engine per batch). Each output is one content-hashed segment file; segments already stored
# are not in the DAG. Resources come from the engine's config (engines.<name>.resources).
for _batch_id in BUILD.batches:

    rule:
        name:
            f"render_{_batch_id}"
        output:
            BUILD.batch_outputs(_batch_id),
        log:
            f"logs/render/{_batch_id}.log",
        benchmark:
            f"benchmarks/render/{_batch_id}.tsv"
        resources:
            **BUILD.batch_resources(_batch_id),
        params:
            batch=_batch_id,
        run:
            ttsbuild_workflow.render_batch(BUILD, params.batch, list(output))
