"""The render server's limits (issue 25): every key checked, a backlog sized for its clients,
bounded memory across connections, and a client that retries and then renders locally.

Only Unix sockets in a private temporary directory, and bounded loops."""

from __future__ import annotations

import json

import pytest

from tests.test_server import _session
from ttsbuild.rendering import guard, server


def _job(key: str = "0" * 20, post_key: str | None = None, outputs=None) -> dict:
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
    job = {"key": key, "request": request, "where": "s.txt:1", "speaker": "a"}
    if post_key is not None:
        stage = {"kind": "effects", "version": "1", "engine": "", "effects": [], "voice": None}
        job["post"] = [{**stage, "key": post_key}]
    if outputs is not None:
        job["outputs"] = outputs
    return job


@pytest.mark.parametrize(
    "job",
    [
        _job(post_key="../../victim/x"),
        _job(post_key="/etc/x"),
        _job(post_key="0" * 20 + "\n"),
        _job(outputs=["../../victim/x"]),
        _job(key="0" * 20 + "\n"),
    ],
    ids=["post-climbs", "post-absolute", "post-newline", "output-climbs", "key-newline"],
)
def test_every_key_a_request_carries_is_a_segment_key(in_process_server, tmp_path, job):
    """Issue 25, finding 1: a post stage's key (or a declared output) that climbs out of the
    store is refused like the synthesis key; nothing is written outside the store."""
    root, path = in_process_server
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "x.json").write_text("precious")
    line = {"op": "render", "store": str(root / "build/segments"), "jobs": [job]}
    [reply] = _session(path, [json.dumps({**line, "engines": {}, "qa": None}).encode()])
    assert reply["ok"] is False and "segment key" in reply["error"]
    assert (victim / "x.json").read_text() == "precious"
    assert sorted(p.name for p in victim.iterdir()) == ["x.json"]


def test_store_lock_refuses_a_key_that_is_not_a_key(tmp_path):
    from ttsbuild.store.segments import segment_lock

    with pytest.raises(ValueError, match="not a segment key"):
        with segment_lock(tmp_path, "../x"):
            pass
    assert not (tmp_path.parent / "x.lock").exists()


def _unserved(tmp_path, runtime_dir, monkeypatch, backlog: int | None = None):
    """A bound, listening server that never accepts (a loaded server), for the backlog."""
    root = tmp_path / "show"
    root.mkdir(exist_ok=True)
    if backlog is not None:
        monkeypatch.setattr(server._Server, "request_queue_size", backlog)
    srv = server._Server(server.socket_path(root), 60, [root.resolve()])
    return root, srv


def test_backlog_takes_a_hundred_concurrent_connects(tmp_path, runtime_dir, monkeypatch):
    """Finding 2: the listen backlog was 5; 100 clients connecting at once were refused."""
    import socket

    root, srv = _unserved(tmp_path, runtime_dir, monkeypatch)
    refused = 0
    clients = []
    try:
        for _ in range(100):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(1)
            clients.append(sock)
            try:
                sock.connect(str(server.socket_path(root)))
            except BlockingIOError:
                refused += 1
    finally:
        for sock in clients:
            sock.close()
        srv.server_close()
    assert refused == 0


def test_client_retries_a_full_backlog_then_says_busy(tmp_path, runtime_dir, monkeypatch):
    """Finding 2: EAGAIN on connect is retried with back-off, then one ServerBusy (never
    "[Errno 11] Resource temporarily unavailable")."""
    import socket

    root, srv = _unserved(tmp_path, runtime_dir, monkeypatch, backlog=1)
    monkeypatch.setattr(server, "CONNECT_PATIENCE_SECONDS", 0.3)
    path = server.socket_path(root)
    attempts = []
    real_sleep = server.time.sleep
    monkeypatch.setattr(server.time, "sleep", lambda s: (attempts.append(s), real_sleep(s)))
    fill = []
    try:
        for _ in range(8):  # fill the backlog (bounded)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(0.2)
            fill.append(sock)
            try:
                sock.connect(str(path))
            except BlockingIOError:
                break
        with pytest.raises(server.ServerBusy, match="backlog"):
            server._request(path, {"op": "hello"}, timeout=1)
        assert len(attempts) >= 2 and attempts == sorted(attempts)  # backing off
        assert server.connect(root, "use") is None  # the build renders locally instead
        with pytest.raises(server.ServerBusy):
            server.connect(root, "on")
    finally:
        for sock in fill:
            sock.close()
        srv.server_close()


def test_unfinished_requests_share_one_memory_budget(in_process_server, monkeypatch):
    """Finding 2: partial request lines on many connections at once are bounded in total
    (they were 64 MiB each, on any number of connections)."""
    import socket
    import time

    root, path = in_process_server
    monkeypatch.setattr(guard, "MAX_BUFFERED_BYTES", 1 << 20)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        for sock in (a, b):
            sock.settimeout(10)
            sock.connect(str(path))
        a.sendall(b"x" * (700 << 10))  # no newline: an unfinished request held by the server
        try:
            b.sendall(b"y" * (700 << 10))
        except BrokenPipeError:
            pass  # the server answered "busy" and closed before the last bytes
        reply = json.loads(b.makefile("rb").readline())
        assert reply["ok"] is False and reply["busy"] is True and "busy" in reply["error"]
        a.sendall(b"\n")  # a's request completes: an answer, and its bytes are released
        assert json.loads(a.makefile("rb").readline())["ok"] is False
        for _ in range(100):  # bounded: the budget is free again
            try:
                assert server._request(path, {"op": "hello"}, timeout=5)["ok"]
                break
            except server.ServerBusy:
                time.sleep(0.05)
        else:
            pytest.fail("the budget was never released")
    finally:
        a.close()
        b.close()


def test_a_busy_server_means_one_warning_and_a_local_render(make_project, monkeypatch, caplog):
    """Finding 2: 2 of 3 builds in server mode failed with "[Errno 11]"; now the batch renders
    in the build itself after one warning."""
    import logging

    from tests.test_errors import _build_in_process
    from ttsbuild.workflow import build as build_module

    project = make_project(script="Hello there.\n[Alice] And you.\n")
    build = _build_in_process(project, monkeypatch)
    monkeypatch.setenv("TTSBUILD_SERVER", "use")
    monkeypatch.setattr(server, "connect", lambda *a, **k: project.path / "fake.sock")

    def busy(*args, **kwargs):
        raise server.ServerBusy("its backlog stayed full for 5 s")

    monkeypatch.setattr(server, "render_remote", busy)
    rendered = []
    monkeypatch.setattr(
        build_module, "render_parallel", lambda jobs, *a, **k: rendered.extend(jobs)
    )
    batch = next(iter(build.batches))
    with caplog.at_level(logging.WARNING):
        build.render_batch(batch)
    assert len(rendered) == len(build.batches[batch].jobs) > 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "busy" in warnings[0].getMessage()
    monkeypatch.setenv("TTSBUILD_SERVER", "on")  # a required server stays required
    with pytest.raises(server.ServerBusy):
        build.render_batch(batch)
