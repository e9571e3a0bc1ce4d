"""Stem file names (assembly/stems.py): one safe, distinct file per character, whatever the
character is called."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import FAKE_CONFIG
from ttsbuild.assembly.assemble import assemble_episode
from ttsbuild.assembly.stems import SOUNDS_STEM, stem_names, write_stems
from ttsbuild.config.project import load_project
from ttsbuild.planning.planner import Planner
from ttsbuild.rendering.batch import RenderJob
from ttsbuild.rendering.render import render_jobs

#: Most file systems allow 255 bytes a name; the stem adds ".wav" and maybe "-N".
MAX_NAME_BYTES = 240


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def test_long_names_fit_a_file_system_and_stay_distinct():
    # a 300-character cue made a 304-byte file name: ENAMETOOLONG when the stem was written
    owners = ["x" * 300, "x" * 299 + "y", "日本" * 150, "Émile " * 60]
    names = stem_names(owners)
    assert all(len(n.encode()) + len(".wav") <= MAX_NAME_BYTES for n in names.values())
    assert len({_folded(n) for n in names.values()}) == len(owners)
    assert names["x" * 300].startswith("x" * 50)


@given(st.lists(st.text(min_size=0, max_size=300), unique=True, max_size=12))
def test_every_owner_gets_its_own_safe_name(owners):
    names = stem_names(owners)
    assert list(names) == owners
    assert len({_folded(n) for n in names.values()}) == len(owners)
    for owner, name in names.items():
        assert name and "/" not in name and "\x00" not in name and name not in (".", "..")
        assert len(name.encode()) + len(".wav") <= MAX_NAME_BYTES
        assert (name == SOUNDS_STEM) == (owner == "")


SRT_CONFIG = FAKE_CONFIG.replace(
    "ep1: {source: scripts/ep1.txt}", "subs: {source: scripts/subs.srt}"
)

SRT = """\
1
00:00:01,000 --> 00:00:03,000
[Alice] Are you coming with us tonight?

2
00:00:04,000 --> 00:00:08,000
[Alice] Shall we go? [Bob] Yes, let us go now.

3
00:00:09,000 --> 00:00:11,000
[Bob] I will bring the lantern.
"""


def test_a_cue_spoken_by_two_characters_is_split_between_their_stems(make_project, monkeypatch):
    """Found by an adversarial pass: the whole of a two-speaker cue went on the first
    speaker's stem (bob silent where he speaks). Each speaker's part of the cue clip is on
    their own stem, and the stems still sum to the episode, sample for sample."""
    monkeypatch.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    project_dir = make_project(config=SRT_CONFIG, script="")
    project_dir.write("scripts/subs.srt", SRT)
    root = project_dir.path
    project = load_project(root)
    plan = Planner(project).plan_episode("subs")
    jobs = [
        RenderJob(s.chain()[0][1], s.request, f"subs:{s.line}", s.speaker, s.post)
        for s in plan.segments()
    ]
    render_jobs(jobs, project.store, project.engines)
    plan_file = root / "plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    clips = root / "clips"
    report = assemble_episode(
        plan_file,
        project.store,
        project.output,
        root / "ep.wav",
        root / "ep.srt",
        root / "ep.json",
        clips,
    )
    index = write_stems(plan_file, project.store, project.output, root / "ep.stems.json", clips)
    stems = {
        s["character"]: sf.read(str(root / s["file"]), dtype="int32")[0] for s in index["stems"]
    }
    episode = sf.read(str(root / "ep.wav"), dtype="int32")[0]
    assert np.array_equal(sum(stems.values()), episode)
    assert {c: s["clips"] for c, s in zip(stems, index["stems"])} == {"alice": 2, "bob": 2}
    cue = next(c for c in report["cues"] if c["number"] == 2)
    start, end = cue["final"]["start_sample"], cue["final"]["end_sample"]
    alice, bob = stems["alice"][start:end], stems["bob"][start:end]
    assert alice.any() and bob.any()  # each says their part
    assert not (alice.astype(bool) & bob.astype(bool)).any()  # one after the other, no overlap
    assert np.flatnonzero(alice).max() < np.flatnonzero(bob).min()  # Alice first
