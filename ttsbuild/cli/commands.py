"""The ``ttsbuild`` command line: inspect a project and maintain its segment store.

Exit codes: 0 success; 1 a user error (one line on stderr) or problems found; 2 bad command-line
usage; 3 an internal error (a bug: one line, ``--debug`` shows the traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ttsbuild.cli.common import (  # noqa: F401  (re-exported: tests and other modules use them)
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    _plans,
    _project,
    out,
    warn,
)
from ttsbuild.cli.deep import add_arguments as add_deep_arguments
from ttsbuild.cli.init import add_parser as add_init_parser
from ttsbuild.cli.init import cmd_init
from ttsbuild.cli.runtime import add_parser as add_runtime_parser
from ttsbuild.cli.runtime import cmd_runtime
from ttsbuild.cli.store import cmd_gc, cmd_verify
from ttsbuild.config import DEFAULT_CONFIG_FILE, Project, load_project
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.planning.plan import EpisodePlan
from ttsbuild.planning.planner import Planner
from ttsbuild.reports.explain import SidecarIndex, deleted_lines, explain_plan, summary
from ttsbuild.reports.overflow import measured_rates, summarize_overflow

log = logging.getLogger(__name__)


def _warn_overflow(project: Project, plans: Mapping[str, EpisodePlan], worst: int = 10) -> None:
    """Subtitle cues whose speech likely overflows its time: one summary line per episode,
    then a warning for each of the ``worst`` cues the build would warn about."""
    if not any("srt" in plan.extra for plan in plans.values()):
        return
    measured = measured_rates(project.store)
    for plan in plans.values():
        if "srt" not in plan.extra:
            continue
        summary = summarize_overflow(plan, project.output, measured, project.store)
        out(summary.line(plan.source))
        shown = summary.worst(worst)
        for o in shown:
            warn(f"{plan.source}:{o.line}: cue {o.number or o.cue}: {o.message}")
        more = sum(1 for o in summary.predicted if o.problem) - len(shown)
        if more > 0:
            out(f"  ... and {more} more (--worst {len(shown) + more} lists them all)")


# ---------------------------------------------------------------- commands


def cmd_check(args: argparse.Namespace) -> int:
    from ttsbuild.reports.voices import identical_characters

    project = _project(args)
    total = 0
    _check_beds(project)
    plans = _plans(project)
    _warn_overflow(project, plans, args.worst)
    for names in identical_characters(project):
        warn(
            f"{project.config_file}: characters {', '.join(names)} would sound identical (same "
            "engine, voice, parameters and stages); give each its own voice or params"
        )
    for name, plan in plans.items():
        total += len(plan.segments())
        out(f"{name}: {plan.source}: {len(plan.segments())} segments, ok")
    out(f"project ok: {len(project.episodes)} episodes, {total} segments; store {project.store}")
    return EXIT_OK


def _check_beds(project: Project) -> None:
    """Each episode's ``bed.file``: inside the project, a regular file (what the mix reads)."""
    from ttsbuild.core.files import MAX_BED_BYTES

    for name, episode in project.episodes.items():
        bed = (episode.options.get("bed") or {}).get("file")
        if bed:
            key, label = f"episodes.{name}.bed.file", f"episode '{name}': the bed"
            project.regular_file(str(bed), "bed", key, label, MAX_BED_BYTES)


def cmd_plan(args: argparse.Namespace) -> int:
    project = _project(args)
    index = SidecarIndex(project.store)
    plans = _plans(project, args.episodes)
    _warn_overflow(project, plans, args.worst)
    for name, plan in plans.items():
        explanations = explain_plan(plan, project.store, index)
        stored, missing = summary(explanations)
        out(f"{name}: {len(explanations)} segments, {stored} stored, {missing} to render")
        for e in explanations:
            if e.stored and not args.all and args.command == "explain":
                continue
            state = "stored" if e.stored else "render"
            text = e.segment.text if len(e.segment.text) <= 60 else e.segment.text[:57] + "..."
            out(f"  {state:6} {e.segment.key} {e.where} {e.segment.speaker}: {text}")
            if args.command == "explain":
                if e.segment.lexicon:  # the spoken form: numbers in words, lexicon entries
                    out(f"         spoken: {e.segment.text}")
                    out(f"         from: {'; '.join(e.segment.lexicon)}")
                for reason in e.reasons:
                    out(f"         why: {reason}")
        if args.command == "explain":
            for side in deleted_lines(plan, index):
                text = side.request.text
                text = text if len(text) <= 60 else text[:57] + "..."
                out(f"  gone   {side.key} {side.where} {side.speaker}: {text}")
                out(
                    "         why: no longer in the source (deleted, or its text edited); its "
                    "render stays in the store until 'ttsbuild gc'"
                )
    return EXIT_OK


def cmd_voices(args: argparse.Namespace) -> int:
    from ttsbuild.cli.voices import list_voices

    return EXIT_ERROR if list_voices(_project(args), out) else EXIT_OK


def cmd_cast(args: argparse.Namespace) -> int:
    from ttsbuild.reports.cast import characters_block, episode_cast

    project = _project(args)
    source, entries = episode_cast(project, args.episode)
    total = sum(e.speeches for e in entries)
    out(f"{args.episode}: {source}: {len(entries)} speakers, {total} speeches")
    width = max([len(e.speaker) for e in entries] + [7])
    out(f"  {'speeches':>8}  {'speaker':<{width}}  character")
    for e in entries:
        out(f"  {e.speeches:>8}  {e.speaker:<{width}}  {e.character or '(not in the config)'}")
    block = characters_block(entries)
    if block:
        out()
        out(f"# paste into {project.config_file} (under 'characters:'), then choose the voices:")
        out(block)
    else:
        out("every speaker is a character (or an alias of one)")
    return EXIT_OK


# ---------------------------------------------------------------- parser


def cmd_lexicon(args: argparse.Namespace) -> int:
    """``lexicon check``: the lexicon entries that match no line of any episode."""
    project = _project(args)
    planner = Planner(project)
    for name in project.episodes:
        planner.plan_episode(name)
    unused = [e for e in project.lexicon.entries if e not in planner.lexicon_used]
    for entry in unused:
        where = f"{entry.origin}: " if entry.origin else ""
        scope = "".join(
            f" for {what} {value}"
            for what, value in (("character", entry.character), ("language", entry.language))
            if value
        )
        out(f"{where}lexicon entry '{entry.word}'{scope} matches no line")
    out(
        f"{len(project.lexicon.entries)} lexicon entries, {len(unused)} match no line in "
        f"{len(project.episodes)} episodes"
    )
    return EXIT_ERROR if unused else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ttsbuild.rendering import server

    root = Path(args.directory).resolve()
    if args.stop:
        stopped = server.stop(root)
        out("render server stopped" if stopped else "no render server running")
        return EXIT_OK
    logging.getLogger("ttsbuild").setLevel(logging.INFO)
    allowed: list[Path] = []
    try:  # requests may name the project's store and allow_outside folders, nothing else
        project = load_project(root, args.config)
        allowed = [project.store, *project.allow_outside]
    except TTSBuildError as exc:
        log.warning("ttsbuild: render server: %s; serving the project directory only", exc)
    server.serve(root, args.idle, allowed)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ttsbuild.reports.htmlreport import render_report

    project = _project(args)
    output = Path(args.output) if args.output else project.root / "out" / "report.html"
    titles = {name: ep.title for name, ep in project.episodes.items()}
    episodes = args.episodes or list(project.episodes)
    render_report(project.root, episodes, output, titles, embed_audio=args.embed_audio)
    out(str(output))
    return EXIT_OK


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """-C/--directory, --config and --debug, accepted before and after the command. After it,
    an option left out keeps the value from before it (SUPPRESS: no default of its own)."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "-C", "--directory", default=default("."), help="project directory (default: .)"
    )
    parser.add_argument(
        "--config",
        default=default(DEFAULT_CONFIG_FILE),
        help=f"config file (default: {DEFAULT_CONFIG_FILE})",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show tracebacks and debug logs",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttsbuild",
        description="Inspect a ttsbuild project and maintain its segment store "
        "(builds run with snakemake).",
    )
    _common_options(parser, top=True)
    # The same options after the command (`ttsbuild verify -C myshow`): every subcommand takes
    # them; given there, they win over the ones before the command.
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, top=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, parents=[common])

    worst = "subtitles: how many of the cues predicted to overflow to list (default 10)"
    command("check", "validate config, scripts, voices and engines without rendering").add_argument(
        "--worst", type=int, default=10, metavar="N", help=worst
    )
    for name, text in (
        ("plan", "per episode: each segment and whether it is stored or will render"),
        ("explain", "like plan, with why each missing segment will render"),
    ):
        p = command(name, text)
        p.add_argument("episodes", nargs="*", help="episodes (default: all)")
        p.add_argument("--all", action="store_true", help="explain: list stored segments too")
        p.add_argument("--worst", type=int, default=10, metavar="N", help=worst)
    command("voices", "list the voices the project can use (bundled, local Piper, clips), checked")
    p = command("cast", "list an episode's speakers and print a characters: block")
    p.add_argument("episode", help="the episode")
    p = command("verify", "decode every stored segment and report corrupt ones")
    p.add_argument("--delete", action="store_true", help="remove corrupt segments and leftovers")
    p.add_argument("--store", help="verify this store directory instead of the project's")
    add_deep_arguments(p)
    p = command("gc", "remove stored segments no episode references (dry run first)")
    p.add_argument("--yes", action="store_true", help="really delete (default: dry run)")
    p.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="DIR",
        help="another project sharing the store whose segments to keep (repeatable)",
    )
    p = command("report", "write out/report.html: audio, timeline and timing tables")
    p.add_argument("episodes", nargs="*", help="episodes (default: all)")
    p.add_argument("-o", "--output", help="where to write the page (default: out/report.html)")
    p.add_argument(
        "--embed-audio",
        action="store_true",
        help="put the audio into the page (data URI): one self-contained file, e.g. for CI",
    )
    p = command("lexicon", "lexicon tools: 'check' lists entries that match no line")
    p.add_argument("action", choices=["check"])
    p = command("serve", "run a warm render server for this project (foreground)")
    p.add_argument("--idle", type=float, default=900.0, help="stop after this many idle seconds")
    p.add_argument("--stop", action="store_true", help="stop the running server")
    add_runtime_parser(sub)
    add_init_parser(sub, common)
    return parser


COMMANDS = {
    "check": cmd_check,
    "cast": cmd_cast,
    "plan": cmd_plan,
    "explain": cmd_plan,
    "verify": cmd_verify,
    "gc": cmd_gc,
    "report": cmd_report,
    "serve": cmd_serve,
    "lexicon": cmd_lexicon,
    "runtime": cmd_runtime,
    "init": cmd_init,
    "voices": cmd_voices,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits with 2 on bad usage
    debug = args.debug or bool(os.environ.get("TTSBUILD_DEBUG"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")
    try:
        return COMMANDS[args.command](args)
    except TTSBuildError as exc:
        if debug:
            raise
        sys.stderr.write(f"ttsbuild: error: {exc}\n")
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. `ttsbuild plan | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        sys.stderr.write("ttsbuild: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line unless --debug
        if debug:
            raise
        sys.stderr.write(
            f"ttsbuild: internal error: {type(exc).__name__}: {exc} (run with --debug for the "
            "traceback, and please report it)\n"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
