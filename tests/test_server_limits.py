"""The render server's limits (issue 25): every key checked, a backlog sized for its clients,
bounded memory across connections, and a client that retries and then renders locally.

Only Unix sockets in a private temporary directory, and bounded loops."""

from __future__ import annotations

import json

import pytest

from tests.test_server import _session


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
