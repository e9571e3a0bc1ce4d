"""Every output path stays inside the project (issue 25, finding 10): ``out/`` as a symlink to
a folder elsewhere was written through, while the assets folder was refused in the same case."""

from __future__ import annotations

import pytest

from ttsbuild.config.project import load_project
from ttsbuild.core.errors import ConfigError

CONFIG = """\
engine: fake
characters:
  narrator: {}
episodes:
  ep1: {source: scripts/ep1.txt}
"""


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch):
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")


def test_out_linked_outside_the_project_is_refused_unless_allowed(make_project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    project = make_project(config=CONFIG, script="Hello.\n")
    (project.path / "out").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="out/ leads to .*outside the project directory"):
        load_project(project.path)
    result = project.plan_in_process()  # the Snakefile's own entry point: one line, exit 1
    assert result.returncode == 1 and "out/ leads to" in result.stderr.strip().splitlines()[-1]
    assert list(elsewhere.iterdir()) == []
    project.write("config/config.yaml", CONFIG + f"allow_outside: [{elsewhere}]\n")
    assert load_project(project.path).root == project.path.resolve()


def test_out_as_a_folder_or_a_link_inside_the_project_is_fine(make_project):
    project = make_project(config=CONFIG, script="Hello.\n")
    load_project(project.path)  # no out/ yet
    (project.path / "renders").mkdir()
    (project.path / "out").symlink_to(project.path / "renders")
    load_project(project.path)


def test_a_store_that_is_a_file_is_one_clear_error(make_project, monkeypatch, tmp_path):
    """Found by an adversarial pass: a traceback (NotADirectoryError) and every render failed,
    while ``ttsbuild check`` said the project was fine."""
    project = make_project(config=CONFIG + "store: segments.dat\n", script="Hello.\n")
    project.write("segments.dat", "not a folder")
    with pytest.raises(ConfigError, match="store 'segments.dat': .*segments.dat is a file"):
        load_project(project.path)
    result = project.plan_in_process()
    assert result.returncode == 1
    assert "config/config.yaml:6: store 'segments.dat': " in result.stderr
    assert "Traceback" not in result.stderr
    check = project.ttsbuild("check")
    assert check.returncode != 0 and "is a file, not a folder" in check.stderr
    elsewhere = tmp_path / "a-file"
    elsewhere.write_text("")
    monkeypatch.setenv("TTSBUILD_STORE", str(elsewhere))
    with pytest.raises(ConfigError, match="TTSBUILD_STORE .* is a file"):
        load_project(project.path)
    # found by a second pass: a path through a file, an empty store, verify --store on a file
    monkeypatch.setenv("TTSBUILD_STORE", str(elsewhere / "sub"))
    with pytest.raises(ConfigError, match=f"{elsewhere} is a file, not a folder"):
        load_project(project.path)
    monkeypatch.delenv("TTSBUILD_STORE")
    project.write("config/config.yaml", CONFIG + "store: ''\n")
    with pytest.raises(ConfigError, match="store is empty"):
        load_project(project.path)
    project.write("config/config.yaml", CONFIG)
    verify = project.ttsbuild("verify", "--store", str(elsewhere))
    assert verify.returncode != 0 and "is a file, not a folder" in verify.stderr
