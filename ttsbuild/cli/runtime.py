"""``ttsbuild runtime create|list|check``: engines in their own Python environments.

See docs/engines.md (Runtimes). ``create`` prints each pip step and pip's progress lines, since
a torch runtime takes minutes; ``check`` imports the engine's modules in its runtime.
"""

from __future__ import annotations

import argparse
import sys

from ttsbuild.config import load_project
from ttsbuild.config.settings import RuntimeSetting
from ttsbuild.core.errors import TTSBuildError
from ttsbuild.engines import runtimes


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _configured(args: argparse.Namespace) -> dict[str, RuntimeSetting]:
    """The project's runtimes, or none when there is no project here."""
    try:
        return dict(load_project(args.directory, args.config).runtimes)
    except TTSBuildError:
        return {}


def _setting(args: argparse.Namespace) -> RuntimeSetting:
    """The engine's runtime as the project configures it, else a managed one (``--variant``)."""
    given = _configured(args).get(args.engine)
    if given is not None and getattr(args, "variant", None) is None:
        return given
    return RuntimeSetting.from_dict({"managed": True, "variant": args.variant or "cpu"})


def cmd_runtime(args: argparse.Namespace) -> int:
    if args.action == "create":
        setting = _setting(args)
        if not setting.managed:
            _out(f"{args.engine} uses the interpreter {setting.python} (not managed); checking it")
        else:
            runtimes.create(args.engine, setting.variant, _out, force=args.force)
        args.action = "check"
    if args.action == "check":
        setting = _setting(args)
        found = runtimes.probe(args.engine, setting, imports=True)
        env = found["environment"]
        _out(f"{args.engine}: ok, version {found['version']}")
        for key, value in env.items():
            _out(f"  {key}: {value}")
        return 0
    _out(f"managed runtimes in {runtimes.runtimes_root()}:")
    for item in runtimes.list_managed():
        state = "unfinished" if item.get("unfinished") else f"created {item.get('created')}"
        _out(f"  {item['folder']}  ({state})")
    for engine, setting in sorted(_configured(args).items()):
        where = runtimes.managed_dir(engine, setting.variant) if setting.managed else setting.python
        _out(f"project engine {engine}: {where}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("runtime", help="create, list or check engines' own Python environments")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (
        ("create", "create (or finish) an engine's managed runtime from its requirements"),
        ("check", "import the engine in its runtime and print the runtime's versions"),
    ):
        q = actions.add_parser(name, help=text)
        q.add_argument("engine", help="engine name, e.g. chatterbox")
        q.add_argument("--variant", choices=("cpu", "gpu"), help="managed runtime variant")
        q.add_argument("--force", action="store_true", help="create: rebuild it from scratch")
    actions.add_parser("list", help="managed runtimes, and this project's configured ones")
