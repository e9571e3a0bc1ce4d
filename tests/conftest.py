"""Shared fixtures: temporary projects and a runner for real `snakemake` invocations."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# No test may download anything, nor read the user's Hugging Face cache: engines find their
# weights only in the checkpoint folders the tests build. Set before huggingface_hub is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="ttsbuild-test-hf-")

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class ProjectDir:
    path: Path
    loads_file: Path

    def write(self, relative: str, text: str) -> Path:
        p = self.path / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        return p

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["TTSBUILD_ENGINE_PLUGINS"] = "fake=tests.fake_engine:FakeEngine"
        env["TTSBUILD_FAKE_LOADS"] = str(self.loads_file)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(extra)
        return env

    def plan_in_process(self) -> Result:
        """What the Snakefile runs before any rule (preflight, then load_build: config
        validation, planning, batches), in this process: a bad-input case in milliseconds
        instead of a Snakemake start. Exit code and stderr as a ``snakemake`` run would give."""
        import contextlib
        import io
        from types import SimpleNamespace

        from ttsbuild import workflow
        from ttsbuild.config.schema import DEFAULT_CONFIG_FILE, read_config_file

        err = io.StringIO()
        saved_env = {
            k: os.environ.get(k) for k in ("TTSBUILD_ENGINE_PLUGINS", "TTSBUILD_FAKE_LOADS")
        }
        os.environ.update(
            TTSBUILD_ENGINE_PLUGINS="fake=tests.fake_engine:FakeEngine",
            TTSBUILD_FAKE_LOADS=str(self.loads_file),
        )
        cwd = os.getcwd()
        code = 0
        try:
            os.chdir(self.path)
            with contextlib.redirect_stderr(err):
                try:
                    workflow.preflight(SimpleNamespace(overwrite_configfiles=[]))
                    config = read_config_file(Path(DEFAULT_CONFIG_FILE), DEFAULT_CONFIG_FILE)
                    workflow.load_build(config, None)
                except SystemExit as exc:
                    code = int(exc.code or 0)
        finally:
            os.chdir(cwd)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return Result(code, "", err.getvalue())

    def snakemake(self, *args: str, timeout: float = 300, **env: str) -> Result:
        cmd = [*SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(self.path), *args]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=self.env(**env), timeout=timeout
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ttsbuild(self, *args: str, timeout: float = 120, **env: str) -> Result:
        cmd = [sys.executable, "-m", "ttsbuild.cli", "-C", str(self.path), *args]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=self.env(**env), timeout=timeout
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def loads(self) -> int:
        return len(self.loads_file.read_text().split()) if self.loads_file.exists() else 0

    def segments(self) -> dict[str, bytes]:
        store = self.path / "build" / "segments"
        # pathlib's glob matches dot-files too: leave out temp files of interrupted writes
        return {
            p.name: p.read_bytes()
            for p in sorted(store.glob("*.wav"))
            if not p.name.startswith(".")
        }


FAKE_CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {params: {speed: 1.1}}
  bob: {params: {brightness: 0.8}}
aliases: {al: alice}
episodes:
  ep1: {source: scripts/ep1.txt}
"""

FAKE_SCRIPT = """\
# test episode
The narrator opens the scene.
[Alice] Hello Bob.
[Bob] Hello Alice.
[pause:500ms]
[Al] How are you today?
[Bob|seed:7] Very well, thank you.
[Narrator] The narrator closes the scene.
"""


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., ProjectDir]:
    def make(
        config: str = FAKE_CONFIG, script: str = FAKE_SCRIPT, name: str = "show"
    ) -> ProjectDir:
        root = tmp_path / name
        project = ProjectDir(root, tmp_path / f"{name}-loads.txt")
        project.write("config/config.yaml", config)
        project.write("scripts/ep1.txt", script)
        return project

    return make


def rendered_count(result: Result) -> int:
    """Segments rendered in a build, from ttsbuild's own log lines."""
    import re

    return sum(
        int(m) for m in re.findall(r"ttsbuild: rendered (\d+) of \d+ segments", result.output)
    )


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    return run


@pytest.fixture
def in_process_server(tmp_path, runtime_dir):
    """A server for ``tmp_path/show`` in a thread of this process."""
    root = tmp_path / "show"
    (root / "build/segments").mkdir(parents=True)
    from ttsbuild.rendering import server

    path = server.socket_path(root)
    srv = server._Server(path, 60, [root.resolve()])
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield root, path
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()
