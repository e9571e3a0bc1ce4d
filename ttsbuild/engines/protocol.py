"""The runtime protocol: what an engine's runtime (its probe, its worker) says to the build.

Every message is one JSON object on one line. One reader (:class:`MessageReader`) and one
parser (:func:`parse_message`) take every message, for the probe and the worker alike, so a
runtime that hangs, floods, dies or talks nonsense is one ``EngineError`` line naming the
engine, the runtime and the fix, never a traceback and never a build that waits forever:

- a message is awaited at most ``timeout`` seconds (``engines.<name>.runtime.timeouts``);
- a message is at most :data:`MAX_MESSAGE_BYTES` long (a runtime that prints without a newline
  cannot fill the build's memory);
- a message that is not UTF-8, not JSON, not an object or lacks a field it must carry is
  refused, quoting the start of what was sent.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from ttsbuild.core.errors import EngineError

#: The longest message a runtime may send (a render reply lists its failures; 16 MiB is ample).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_READ = 1 << 16


@dataclass(frozen=True)
class Peer:
    """Who is talking: the engine, its runtime's interpreter and the fix to name."""

    engine: str
    runtime: str
    fix: str

    def error(self, what: str) -> EngineError:
        """One line: ``engine 'x': runtime /p <what>; <fix>``."""
        return EngineError(f"engine '{self.engine}': runtime {self.runtime} {what}; {self.fix}")


def _quote(raw: bytes) -> str:
    shown = raw[:80].decode("utf-8", "replace").strip()
    return repr(shown) + ("..." if len(raw) > 80 else "")


def parse_message(
    raw: bytes, peer: Peer, what: str, required: Mapping[str, type | tuple[type, ...]]
) -> dict[str, Any]:
    """One message: a JSON object carrying every ``required`` field with its type.

    >>> peer = Peer("piper", "/venv/bin/python", "reinstall it")
    >>> parse_message(b'{"version": "1.2"}\\n', peer, "probe answer", {"version": str})
    {'version': '1.2'}
    >>> parse_message(b'[1, 2]\\n', peer, "probe answer", {"version": str})
    Traceback (most recent call last):
    ...
    ttsbuild.core.errors.EngineError: engine 'piper': runtime /venv/bin/python sent a malformed probe answer (not a JSON object: '[1, 2]'); reinstall it
    """
    import json

    def bad(why: str) -> EngineError:
        return peer.error(f"sent a malformed {what} ({why}: {_quote(raw)})")

    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("not UTF-8") from None
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    for name, kind in required.items():
        value = data.get(name)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise bad(f"no {name!r} field of the right type")
    return data


class MessageReader:
    """Lines from a runtime's output pipe, each awaited with a timeout and bounded in size."""

    def __init__(self, stream: IO[bytes], peer: Peer):
        self.fd = stream.fileno()
        self.peer = peer
        self.buffer = bytearray()
        self.ended = False

    def line(self, what: str, timeout: float, setting: str) -> bytes | None:
        """The next line (None when the runtime closed its output first). ``setting`` names the
        timeout in the config, for the message when it passes."""
        deadline = time.monotonic() + timeout
        while True:
            end = self.buffer.find(b"\n")
            if end != -1:
                raw = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return raw
            if len(self.buffer) > MAX_MESSAGE_BYTES:
                raise self.peer.error(
                    f"sent more than {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB without a newline "
                    f"while the build waited for its {what} (something in it prints to stdout)"
                )
            if self.ended:
                return None
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise self.peer.error(
                    f"sent no {what} within {timeout:g} s "
                    f"(engines.{self.peer.engine}.runtime.timeouts.{setting}: raise it if the "
                    "model is that slow to load or render, else it hangs)"
                )
            chunk = os.read(self.fd, _READ)
            if not chunk:
                self.ended = True
            self.buffer += chunk

    def message(
        self,
        what: str,
        timeout: float,
        setting: str,
        required: Mapping[str, type | tuple[type, ...]],
    ) -> dict[str, Any] | None:
        """The next message, parsed (None when the runtime closed its output first)."""
        raw = self.line(what, timeout, setting)
        return None if raw is None else parse_message(raw, self.peer, what, required)


def exit_status(returncode: int | None) -> str:
    """How a runtime process ended, in words.

    >>> exit_status(-9), exit_status(1), exit_status(None)
    ('killed by signal 9 (SIGKILL: out of memory, or killed by hand)', 'exit status 1', 'still running')
    """
    if returncode is None:
        return "still running"
    if returncode < 0:
        import signal

        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else "?"
        hint = ": out of memory, or killed by hand" if name == "SIGKILL" else ""
        return f"killed by signal {-returncode} ({name}{hint})"
    return f"exit status {returncode}"
