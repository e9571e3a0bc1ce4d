"""Atomic writes and store locks (pure, fast)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ttsbuild.core.fsutil import atomic_path, write_text_atomic
from ttsbuild.store.segments import (
    remove_segment,
    segment_lock,
    segment_path,
    stored_keys,
    temp_files,
)

KEY = "0123456789abcdef0123"


def test_failed_write_leaves_nothing(tmp_path):
    dest = tmp_path / "a.txt"
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_killed_writer_leaves_only_a_dot_temp_file(tmp_path):
    dest = tmp_path / f"{KEY}.wav"
    code = (
        "import os, signal, sys\n"
        "from ttsbuild.core.fsutil import atomic_path\n"
        f"with atomic_path({str(dest)!r}) as tmp:\n"
        "    tmp.write_bytes(b'RIFF' + b'x' * 1000)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.getcwd(), check=False)
    assert proc.returncode == -signal.SIGKILL
    assert not dest.exists()
    leftovers = temp_files(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].name.startswith(f".{KEY}.wav.")
    assert stored_keys(tmp_path) == set()


def test_finished_files_get_normal_permissions(tmp_path):
    write_text_atomic(tmp_path / "x.json", "{}")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_remove_segment_waits_for_the_lock_and_waiters_relock(tmp_path):
    segment_path(tmp_path, KEY).write_bytes(b"done")
    order: list[str] = []
    with segment_lock(tmp_path, KEY):
        assert remove_segment(tmp_path, KEY, blocking=False) is False  # held: nothing removed
        assert segment_path(tmp_path, KEY).exists()
        remover = threading.Thread(target=lambda: order.append(str(remove_segment(tmp_path, KEY))))
        remover.start()
        time.sleep(0.1)
        order.append("released")
    remover.join(5)
    assert order == ["released", "True"]
    assert not segment_path(tmp_path, KEY).exists()
    assert not (tmp_path / ".locks" / f"{KEY}.lock").exists()
    with segment_lock(tmp_path, KEY) as held:  # a fresh lock file works after removal
        assert held
