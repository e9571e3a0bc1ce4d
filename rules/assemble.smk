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
            BUILD, input.plan, output.wav, output.srt, output.timing, log[0]
        )


# Stems: one file per character on the episode's timeline, out/{episode}.stems/, and their
# index (docs/mixing.md); a stem whose clips did not change is not written again.
rule stems:
    input:
        plan=BUILD.plan_input,
        segments=BUILD.segments_input,
    output:
        index="out/{episode}.stems.json",
    log:
        "logs/stems/{episode}.log",
    run:
        ttsbuild_workflow.stems(BUILD, input.plan, output.index, log[0])


# The mix: the episode's speech over its bed (episodes.<name>.bed), the bed ducked under the
# speech; out/{episode}.wav stays the dialogue-only episode (docs/mixing.md).
rule mix:
    input:
        wav="out/{episode}.wav",
        bed=BUILD.bed_input,
    output:
        wav="out/{episode}.mix.wav",
        report="out/{episode}.mix.json",
    log:
        "logs/mix/{episode}.log",
    params:
        settings=BUILD.bed_params,
    run:
        ttsbuild_workflow.mix(
            BUILD,
            wildcards.episode,
            input.wav,
            input.bed,
            output.wav,
            output.report,
            log[0],
        )


# A video bed's picture with the mix as its sound (ffmpeg from the system).
rule mux:
    input:
        video=BUILD.video_input,
        wav="out/{episode}.mix.wav",
    output:
        "out/{episode}.mp4",
    log:
        "logs/mux/{episode}.log",
    run:
        ttsbuild_workflow.mux(input.video, input.wav, output[0], log[0])


ruleorder: mix > assemble


# Delivery formats by target suffix: out/episode01.flac, .mp3, .ogg (Opus); a new title or bit
# rate re-encodes (params).
rule encode:
    input:
        "out/{episode}.wav",
    output:
        "out/{episode}.{format}",
    log:
        "logs/encode/{episode}.{format}.log",
    wildcard_constraints:
        format="flac|mp3|ogg",
    params:
        settings=BUILD.encode_params,
    run:
        ttsbuild_workflow.encode(BUILD, wildcards.episode, input[0], output[0], log[0])
