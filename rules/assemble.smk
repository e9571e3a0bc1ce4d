# Assembly: timed audio, a timed SRT track and a timing report from the stored segments.
rule assemble:
    input:
        plan=BUILD.plan_input,
        segments=BUILD.segments_input,
    output:
        wav="out/{episode}.wav",
        srt="out/{episode}.srt",
        timing="out/{episode}.timing.json",
    log:
        "logs/assemble/{episode}.log",
    run:
        ttsbuild_workflow.assemble(
            BUILD, input.plan, output.wav, output.srt, output.timing
        )


# Delivery formats by target suffix: out/episode01.flac, .mp3, .ogg (Opus).
rule encode:
    input:
        "out/{episode}.wav",
    output:
        "out/{episode}.{format}",
    log:
        "logs/encode/{episode}.{format}.log",
    wildcard_constraints:
        format="flac|mp3|ogg",
    run:
        ttsbuild_workflow.encode(input[0], output[0])
