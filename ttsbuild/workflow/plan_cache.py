"""Plans reused, never stale: an unchanged project is not planned again.

Planning reads the config, the sources, lexicons, voice files, engine versions and plugin
files, and many places decide on a file's existence alone. A cache that listed those inputs
by hand and missed one would assemble a stale plan, so this one lists nothing by hand: while a
project is planned, :func:`recording` records every path the process looks at, with the
status it saw, through two doors every Python-level file access goes through:

- ``os.stat`` and ``os.lstat`` are wrapped (``Path.exists``/``is_file``/``resolve``,
  ``os.path.exists``/``isfile``/``realpath`` all call them);
- an audit hook (PEP 578) sees every ``open`` (``open``, ``Path.read_text``, ``os.open``,
  ``io.open_code``), every directory listing (``os.listdir``, ``os.scandir``, hence
  ``glob``), and every subprocess or socket, which makes the plans uncacheable.

A file's status is its mode, size, inode, device, mtime and ctime (in ns): a write, a rename,
a ``touch`` or a restored older file (tar, ``rsync -t``: mtime restored, ctime not) changes
it. A folder's is the same when its entries were read (a file added or removed changes it),
else only its mode, inode and device (a folder looked at, not listed, is not changed by a
file written in it). Code counts as input too: the file and folder of every loaded module
and every ``sys.path`` folder. The key holds the config dict, the project root, the working
directory, the interpreter, ``sys.path`` and the whole environment (less ``_`` and
``OLDPWD``, which the shell rewrites for each command).

A later build reuses the plans only when the key is equal and every recorded status is
unchanged; any difference, an unreadable entry or a plan file changed since is a plain
re-plan. What planning logged (warnings about lines, for instance) is kept and logged again.
``tests/test_plan_cache.py`` checks the recorder against ``strace``: every file the process
touches while planning is recorded. Deleting ``build/.ttsbuild/plan-cache.json`` forces a
re-plan.

Imports: core only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat as stat_module
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttsbuild.core.exactjson import exact_json
from ttsbuild.core.fsutil import write_text_atomic

log = logging.getLogger(__name__)

CACHE_VERSION = 3  # 2: validations kept; 3: the config's key order counts
CACHE_FILE = "plan-cache.json"
VOLATILE_ENV = frozenset({"_", "OLDPWD"})  # rewritten by the shell for each command
# Opening or listing these makes plans uncacheable: what they return is not a file's status.
UNCACHEABLE_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "socket.connect",
        "socket.getaddrinfo",
        "urllib.Request",
        "sqlite3.connect",
        "os.chdir",
    }
)

Status = tuple[int, int, int, int, int, int] | None  # mode, size, ino, dev, mtime, ctime

#: A file whose ctime is this close before planning began is not vouched for: an edit of the
#: same size inside the same timestamp tick would leave its status as recorded ("racy git").
#: 2 s covers FAT's granularity; Linux's coarse clock ticks every 1 to 10 ms. A ctime cannot
#: be set back, so a file older than this changes its status with any later write.
RACY_MARGIN_NS = 2_000_000_000


def status(path: str, kind: str = "S") -> Status:
    """A path's status as recorded (None: it does not exist or cannot be reached). ``kind``:
    ``S`` a stat, ``L`` an lstat, ``D`` a folder whose entries were read. A folder that is
    only stat'ed (exists? a folder? a link on the way of ``resolve``?) is recorded without its
    times and size, which change with every file written in it."""
    try:
        st = _real_lstat(path) if kind == "L" else _real_stat(path)
    except (OSError, ValueError):
        return None
    if kind != "D" and stat_module.S_ISDIR(st.st_mode):
        return (st.st_mode, 0, st.st_ino, st.st_dev, 0, 0)
    return (st.st_mode, st.st_size, st.st_ino, st.st_dev, st.st_mtime_ns, st.st_ctime_ns)


_real_stat = os.stat
_real_lstat = os.lstat


@dataclass
class Recorder:
    """The statuses planning saw, by ``("S" or "L") + absolute path``; ``excluded``: paths
    of ttsbuild's own caches, which planning reads but whose content never decides a plan
    (the hash cache is keyed by the status of the file it hashes, which is recorded)."""

    excluded: frozenset[str]
    seen: dict[str, Status] = field(default_factory=dict)
    uncacheable: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, path: Any, kind: str = "S") -> None:
        if isinstance(path, int) or path is None:
            return  # an open file descriptor: the open itself was recorded
        try:
            name = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            self.refuse(f"an unreadable path {path!r}")
            return
        if name in self.excluded:
            return
        tag = kind + name
        now = status(name, kind)
        with self._lock:
            before = self.seen.setdefault(tag, now)
        if before != now:
            self.refuse(f"{name} changed while the project was planned")

    def refuse(self, reason: str) -> None:
        if not self.uncacheable:
            self.uncacheable = reason

    def note_code(self) -> None:
        """Code is input too: every loaded module's file and folder, every sys.path folder."""
        for module in list(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if isinstance(name, str):
                self.note(name)
                self.note(os.path.dirname(name), "D")  # a module added beside it
        for entry in sys.path:
            self.note(entry or ".", "D")


_recorder: list[Recorder] = []  # the active one, if any
_hooked: list[bool] = []
_windows: list[bool] = []  # one per recording this process has made


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The process's audit hook (installed once; cannot be removed): records while planning."""
    if not _recorder:
        return
    rec = _recorder[0]
    try:
        if event == "open":
            rec.note(args[0])
        elif event in ("os.listdir", "os.scandir"):
            rec.note(args[0] if args and args[0] is not None else ".", "D")
        elif event in UNCACHEABLE_EVENTS:
            rec.refuse(f"planning ran {event}")
    except Exception as exc:  # an audit hook must never break the operation it watches
        rec.refuse(f"recording failed: {exc}")


def _stat(path: Any, *args: Any, dir_fd: Any = None, follow_symlinks: bool = True) -> Any:
    if _recorder:
        if dir_fd is not None:
            _recorder[0].refuse("planning used a stat relative to a folder descriptor")
        else:
            _recorder[0].note(path, "S" if follow_symlinks else "L")
    return _real_stat(path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks)


def _lstat(path: Any, *args: Any, dir_fd: Any = None) -> Any:
    if _recorder:
        if dir_fd is not None:
            _recorder[0].refuse("planning used a stat relative to a folder descriptor")
        else:
            _recorder[0].note(path, "L")
    return _real_lstat(path, *args, dir_fd=dir_fd)


@contextlib.contextmanager
def recording(excluded: frozenset[str] = frozenset()) -> Iterator[Recorder]:
    """Record what the process looks at inside the block (one recorder at a time)."""
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked.append(True)
    rec = Recorder(excluded)
    if _windows:  # engines, voices and versions loaded then are memoized, not read again
        rec.refuse("the project was planned before in this process")
    if _recorder:  # nested (never in a build): the outer recording stays in charge
        rec.refuse("nested recording")
        yield rec
        return
    _windows.append(True)
    _recorder.append(rec)
    os.stat, os.lstat = _stat, _lstat
    try:
        yield rec
    finally:
        os.stat, os.lstat = _real_stat, _real_lstat
        _recorder.clear()
    rec.note_code()


def cache_key(config: Mapping[str, Any], root: Path, config_file: str) -> str | None:
    """Everything besides file statuses that planning may depend on; None when the config is
    not plain JSON (a YAML date, a number or null as a key: JSON would write ``1`` and
    ``"1"`` alike, and two configs must never share a key), so nothing is reused."""
    text = exact_json(config)
    if text is None:
        return None
    env = {k: v for k, v in sorted(os.environ.items()) if k not in VOLATILE_ENV}
    material = {
        "version": CACHE_VERSION,
        "root": str(root),
        "config_file": config_file,
        "cwd": os.getcwd(),
        "python": [sys.executable, sys.version],
        "path": sys.path,
        "env": env,
        "log_level": logging.getLogger("ttsbuild").getEffectiveLevel(),
    }
    rest = json.dumps(material, separators=(",", ":"))
    return hashlib.sha256(f"{text}\n{rest}".encode()).hexdigest()


class LogCapture(logging.Handler):
    """What planning logs under ``ttsbuild``, kept to be logged again when plans are reused."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


@contextlib.contextmanager
def capturing_logs() -> Iterator[LogCapture]:
    handler = LogCapture()
    logger = logging.getLogger("ttsbuild")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@dataclass(frozen=True)
class Entry:
    """A cache entry: the key, what planning saw, the plan files it wrote, what it logged."""

    key: str
    seen: dict[str, Status]
    plans: dict[str, tuple[str, Status]]  # episode -> (plan file, its status after writing)
    logs: list[tuple[str, int, str]]
    validations: dict[str, str] = field(default_factory=dict)  # config.schema.validations()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "key": self.key,
            "seen": self.seen,
            "plans": self.plans,
            "logs": self.logs,
            "validations": self.validations,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        if data.get("version") != CACHE_VERSION:
            raise ValueError("another version")

        def st(value: Any) -> Status:
            return None if value is None else tuple(int(v) for v in value)  # type: ignore[return-value]

        return cls(
            str(data["key"]),
            {str(k): st(v) for k, v in data["seen"].items()},
            {str(e): (str(p), st(s)) for e, (p, s) in data["plans"].items()},
            [(str(n), int(lv), str(m)) for n, lv, m in data["logs"]],
            {str(k): str(v) for k, v in data["validations"].items()},
        )

    def unchanged(self) -> bool:
        """Every recorded status and every plan file's status is as it was."""
        for tag, before in self.seen.items():
            if status(tag[1:], tag[0]) != before:
                log.debug("ttsbuild: re-planning: %s changed", tag[1:])
                return False
        return all(status(path) == before for path, before in self.plans.values())


def racy(seen: Mapping[str, Status], began_ns: int) -> str:
    """The first path planning saw that changed less than :data:`RACY_MARGIN_NS` before
    ``began_ns`` (when planning began), or ""."""
    for tag, st in seen.items():
        if st is not None and st[5] >= began_ns - RACY_MARGIN_NS:
            return tag[1:]
    return ""


def load(cache_file: Path, key: str | None) -> Entry | None:
    """The entry whose plans can be reused now, or None (re-plan)."""
    if key is None:
        return None
    try:
        entry = Entry.from_dict(json.loads(cache_file.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # unreadable: re-plan
        return None
    if entry.key != key or not entry.unchanged():
        return None
    return entry


def save(cache_file: Path, entry: Entry) -> None:
    """Write the entry (a cache: a failure is logged, never fatal)."""
    try:
        write_text_atomic(cache_file, json.dumps(entry.to_dict(), separators=(",", ":")))
    except OSError as exc:
        log.debug("ttsbuild: could not keep the plans' inputs in %s: %s", cache_file, exc)


def forget(cache_file: Path) -> None:
    """Drop the entry (planning failed, or recorded something it cannot vouch for)."""
    with contextlib.suppress(OSError):
        cache_file.unlink()
