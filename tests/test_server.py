"""The warm render server: reused across builds, same bytes, stale sockets and versions handled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import rendered_count
from ttsbuild.rendering import guard, server

# End-to-end: real Snakemake builds (run by .ci/run with `pytest -m slow`).
pytestmark = pytest.mark.slow


def _start(project, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttsbuild.cli", "-C", str(project.path), "serve", *extra],
        env=project.env(TTSBUILD_FAKE_LOAD_SECONDS="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = server.socket_path(project.path)
    deadline = time.monotonic() + 30
    while server.probe_quiet(path) is None:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    return proc


def _edit(project, old: str, new: str) -> None:
    script = project.path / "scripts/ep1.txt"
    script.write_text(script.read_text().replace(old, new))


def test_builds_reuse_a_warm_server_and_get_identical_bytes(make_project):
    local = make_project(name="local")
    assert local.snakemake("-j1", "out/ep1.wav").returncode == 0

    project = make_project(name="warm")
    proc = _start(project)
    try:
        env = {"TTSBUILD_SERVER": "on", "TTSBUILD_FAKE_LOAD_SECONDS": "2"}
        first = project.snakemake("-j1", "out/ep1.wav", **env)
        assert first.returncode == 0, first.output
        assert "via render server" in first.output
        assert project.loads() == 1  # loaded by the server
        _edit(project, "Hello Bob.", "Hello again, Bob.")
        started = time.monotonic()
        second = project.snakemake("-j1", "out/ep1.wav", **env)
        assert second.returncode == 0, second.output
        assert rendered_count(second) == 1
        assert project.loads() == 1  # the second build paid no load
        assert time.monotonic() - started < 30
        _edit(project, "Hello again, Bob.", "Hello Bob.")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert len(project.segments()) == len(local.segments()) + 1  # one edited line
    for key, data in local.segments().items():
        assert project.segments()[key] == data


def test_stale_socket_is_removed_and_build_renders_locally(make_project):
    project = make_project()
    proc = _start(project)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    path = server.socket_path(project.path)
    assert path.exists()  # a dead server's socket
    result = project.snakemake("-j1", "out/ep1.wav")
    assert result.returncode == 0, result.output
    assert "via render server" not in result.output
    assert not path.exists()


def test_server_of_other_code_is_not_used(make_project, monkeypatch):
    project = make_project()
    proc = _start(project)
    try:
        path = server.socket_path(project.path)
        monkeypatch.setattr(server, "identity", lambda: "something-else")
        assert server.connect(project.path, "use") is None
        proc.wait(timeout=30)  # it was asked to stop
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists()


def test_idle_server_stops_by_itself(make_project):
    project = make_project()
    proc = _start(project, "--idle", "1")
    assert proc.wait(timeout=30) == 0


def test_required_server_missing_is_a_clear_error(make_project):
    project = make_project()
    result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_SERVER="on")
    assert result.returncode != 0
    assert "no render server runs for this project" in result.output


def test_auto_starts_a_server_on_demand(make_project):
    project = make_project()
    try:
        result = project.snakemake("-j1", "out/ep1.wav", TTSBUILD_SERVER="auto")
        assert result.returncode == 0, result.output
        assert "via render server" in result.output
    finally:
        server.stop(project.path)


# ---------------------------------------------------------------- issue 18, finding 11
# The server trusts nobody: private socket directory, peer credentials, validated requests,
# every malformed message answered (connection kept), error text escaped before printing.

import contextlib  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402

from ttsbuild.core.errors import RenderError  # noqa: E402


def _session(path, lines: list[bytes]) -> list[dict]:
    """Send every line on ONE connection and read one reply per line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        replies = []
        with sock.makefile("rb") as f:
            for line in lines:
                sock.sendall(line + b"\n")
                reply = f.readline()
                assert reply, f"connection dropped after {line[:60]!r}"
                replies.append(json.loads(reply))
    return replies


def test_socket_directory_is_private_before_binding_even_under_umask_000(runtime_dir, tmp_path):
    old = os.umask(0)
    try:
        path = server.socket_path(tmp_path / "show")
    finally:
        os.umask(old)
    assert path.parent == runtime_dir / "ttsbuild"
    st = os.lstat(path.parent)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()


def test_socket_directory_without_xdg_runtime_dir_is_our_own_0700(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = server.socket_path(tmp_path / "show")
    assert path.parent == tmp_path / f"ttsbuild-{os.getuid()}"
    assert stat.S_IMODE(os.lstat(path.parent).st_mode) == 0o700


@pytest.mark.parametrize("planted", ["open", "symlink"])
def test_planted_socket_directory_is_refused(runtime_dir, tmp_path, planted):
    target = runtime_dir / "ttsbuild"
    if planted == "open":
        target.mkdir()
        target.chmod(0o777)
    else:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        target.symlink_to(elsewhere)
    with pytest.raises(RenderError, match="not a private directory of this user"):
        server.socket_path(tmp_path / "show")
    assert server.connect(tmp_path / "show", "use") is None  # builds render locally instead
    with pytest.raises(RenderError, match="not a private directory of this user"):
        server.connect(tmp_path / "show", "on")


GARBAGE = [
    b"",
    b"null",
    b"42",
    b'"render"',
    b"[1, 2]",
    b"{",
    b"\xff\xfe",
    b"{}",
    b'{"op": null}',
    b'{"op": 5}',
    b'{"op": ["render"]}',
    b'{"op": "nope\\u001b[2J"}',
    b'{"op": "render"}',
    b'{"op": "render", "jobs": 5}',
    b'{"op": "render", "store": 5, "jobs": []}',
    b'{"op": "render", "store": "build/segments", "jobs": [1]}',
    b'{"op": "render", "store": "build/segments", "jobs": [{}]}',
    b'{"op": "render", "store": "build/segments", "jobs": [{"key": "0"}]}',
    b'{"op": "render", "store": "build/segments", "jobs": [], "engines": 3}',
    b'{"op": "render", "store": "build/segments", "jobs": [], "engines": {"x": 3}}',
    b'{"op": "render", "store": "build/segments", "jobs": [], "qa": 3}',
    b'{"op": "render", "store": "/", "jobs": []}',
    b'{"op": "render", "store": "/tmp", "jobs": []}',
    b'{"op": "render", "store": "../../..", "jobs": []}',
    b'{"op": "render", "store": "build/segments", "jobs": [], '
    b'"engines": {"fake": {"checkpoint_dir": "/etc"}}}',
    b'{"op": "render", "store": "build/segments", "jobs": [], "qa": {"model": "/etc"}}',
]


def test_every_malformed_message_is_answered_and_the_connection_kept(in_process_server):
    root, path = in_process_server
    lines = [
        g.replace(b'"build/segments"', json.dumps(str(root / "build/segments")).encode())
        for g in GARBAGE
    ]
    replies = _session(path, [*lines, b'{"op": "hello"}'])
    for line, reply in zip(lines, replies):
        assert reply["ok"] is False, line
        assert "\x1b" not in reply["error"]
    assert replies[-1]["ok"] is True  # the same connection still works


def test_requests_cannot_name_paths_outside_the_project(in_process_server, tmp_path):
    root, path = in_process_server
    store = str(root / "build/segments")
    request = {
        "text": "Hi.",
        "engine": "fake",
        "engine_version": "1",
        "model": "",
        "language": "en",
        "voice": {"reference": "", "content_hash": ""},
        "params": {},
        "seed": 1,
    }
    bad = [
        {"store": str(tmp_path / "victim"), "jobs": []},
        {"store": store, "jobs": [{"key": "../../../../x", "request": request}]},
        {"store": store, "jobs": [{"key": "/etc/passwd", "request": request}]},
    ]
    lines = [json.dumps({"op": "render", **b, "engines": {}, "qa": None}).encode() for b in bad]
    replies = _session(path, lines)
    assert [r["ok"] for r in replies] == [False, False, False]
    assert "outside the served project" in replies[0]["error"]
    assert "segment key" in replies[1]["error"] and "segment key" in replies[2]["error"]
    assert not (tmp_path / "victim").exists()
    assert not any(p.suffix in (".wav", ".json") for p in tmp_path.rglob("x*"))


def test_a_named_voice_is_not_a_path_but_a_file_voice_still_is(tmp_path):
    """Kokoro's voices are bundled names (``jf_alpha:0.6,jf_nezumi:0.4``): the guard lets them
    through (the engine refuses names it does not bundle); Piper's are files, checked."""
    from ttsbuild.rendering.guard import RequestError, parse_render

    def message(engine: str, reference: str) -> dict:
        request = {
            "text": "Hi.",
            "engine": engine,
            "engine_version": "1",
            "model": "",
            "language": "ja",
            "voice": {"reference": reference, "content_hash": "0"},
            "params": {},
            "seed": 1,
        }
        job = {"key": "0" * 20, "request": request, "where": "ep1.txt:1", "speaker": "yuki"}
        return {"store": str(tmp_path / "store"), "jobs": [job], "engines": {}, "qa": None}

    parsed = parse_render(message("kokoro", "jf_alpha:0.6,jf_nezumi:0.4"), [tmp_path])
    assert parsed["jobs"][0].request.voice.reference == "jf_alpha:0.6,jf_nezumi:0.4"
    with pytest.raises(RequestError, match="outside the served project"):
        parse_render(message("piper", "/elsewhere/voice.onnx"), [tmp_path])


def test_connection_from_another_user_is_refused(in_process_server, monkeypatch):
    root, path = in_process_server
    monkeypatch.setattr(server, "peer_uid", lambda sock: os.getuid() + 1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        try:
            sock.sendall(b'{"op": "hello"}\n')
            answer = sock.recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b""  # closed without a reply
    with pytest.raises(ConnectionError, match="another user"):  # and a client checks too
        server._request(path, {"op": "hello"}, timeout=5)


def test_peer_credentials_name_this_user():
    a, b = socket.socketpair(socket.AF_UNIX)
    with contextlib.closing(a), contextlib.closing(b):
        assert server.peer_uid(a) == os.getuid()


def test_server_error_text_is_escaped_before_printing(monkeypatch):
    hostile = "\x1b]0;owned\x07\x1b[2J" + "x" * 10_000
    monkeypatch.setattr(server, "_request", lambda *a, **k: {"ok": False, "error": hostile})
    with pytest.raises(RenderError) as info:
        server.render_remote(Path("/nonexistent"), [], Path("."), {})
    text = str(info.value)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned" in text
    assert len(text) <= guard.MAX_ERROR_CHARS + 3
