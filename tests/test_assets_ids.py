"""Voice assets, one file per line id (issue 23): lines planned per id, not per segment key;
lines with nothing to say listed under ``missing``; id rules (collisions, length, the file
name template); folder ownership per episode; the derived-id edit paired as "changed"."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ProjectDir
from tests.test_assets import Project, seg, tone
from ttsbuild.config import load_project
from ttsbuild.config.settings import AssetSettings
from ttsbuild.core.errors import AssetError, SourceError
from ttsbuild.delivery.asset_changes import AssetEntry, asset_stems, diff_assets
from ttsbuild.delivery.asset_plan import check_asset_plans, plan_lines
from ttsbuild.delivery.assets import build_assets
from ttsbuild.planning.plan import EpisodePlan
from ttsbuild.planning.planner import Planner
from ttsbuild.sources import assign_uids
from ttsbuild.sources.script import Unspoken, Utterance

CONFIG = """\
engine: fake
characters:
  narrator: {}
  alice: {}
  bob: {}
episodes:
  ep1: {source: scripts/ep1.csv}
"""

# ---------------------------------------------------------------- finding 1: every id


@pytest.fixture(scope="module")
def table_project(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TTSBUILD_ENGINE_PLUGINS", "fake=tests.fake_engine:FakeEngine")
    root = tmp_path_factory.mktemp("ids")
    project = ProjectDir(root / "show", root / "loads.txt")
    project.write("config/config.yaml", CONFIG)
    yield project
    mp.undo()


ROW = st.tuples(
    st.sampled_from(["", "explicit"]),  # an id column value or none (derived id)
    st.sampled_from(["Alice", "Bob", ""]),
    st.sampled_from(["Hello there.", "Hello there.", "...", "?!", "", "Yes.", "Go, now!"]),
)


def _plan_table(project: ProjectDir, rows: list[tuple[str, str, str]]) -> EpisodePlan:
    body = "".join(
        f'{f"id{n}" if kind else ""},{who},"{text}"\n' for n, (kind, who, text) in enumerate(rows)
    )
    project.write("scripts/ep1.csv", "id,character,text\nfirst,Alice,Good morning.\n" + body)
    return Planner(load_project(project.path)).plan_episode("ep1")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=12))
def test_every_row_gets_exactly_one_file_or_one_missing_entry(table_project, rows):
    """Repeated texts, punctuation-only lines, explicit and derived ids: each row of the
    source is one line id, which has one file or one entry under missing, never both."""
    plan = _plan_table(table_project, rows)
    lines = [line.uid for line in plan_lines(plan)]
    missing = [m["id"] for m in plan.extra.get("missing", [])]
    nonempty = 1 + sum(1 for kind, who, text in rows if kind or who or text)
    assert len(lines) + len(missing) == nonempty
    assert len(set(lines) | set(missing)) == nonempty  # all distinct
    explicit = {f"id{n}" for n, (kind, *_) in enumerate(rows) if kind}
    assert explicit <= set(lines) | set(missing)  # the manifest's ids are the source's ids
    spoken = {f"id{n}" for n, (kind, _, text) in enumerate(rows) if kind and text[:1].isalpha()}
    assert spoken <= set(lines)
    files = AssetSettings.from_dict({})
    from ttsbuild.delivery.asset_plan import asset_names

    names = asset_names(plan, files)
    assert len(set(names.values())) == len(lines)


def test_repeated_text_with_distinct_ids_gives_distinct_files(tmp_path):
    proj = Project(tmp_path)
    audio = tone(1.0)
    same = "a" * 20  # one segment key: rendered once
    build = proj.build(
        [(seg(same, "learn_1", "Okay.", 1), audio), (seg(same, "learn_2", "Okay.", 2), audio)]
    )
    manifest = proj.manifest()
    assert [a["id"] for a in manifest["assets"]] == ["learn_1", "learn_2"]
    one, two = (proj.folder / "learn_1.wav"), (proj.folder / "learn_2.wav")
    assert one.read_bytes() == two.read_bytes()  # the same mastered bytes, two files
    assert build["added"] == ["learn_1", "learn_2"]


def _plan_with_missing(proj: Project, strict: bool = False, **kw: object) -> dict:
    segments = [(seg("b" * 20, "l1", "Hello.", 1), tone(1.0))]
    for s, audio in segments:
        from ttsbuild.core.audio import write_audio
        from ttsbuild.store.segments import segment_path

        write_audio(segment_path(proj.store, s.key), audio)
    missing = [
        {"id": "l2", "line": 2, "character": "bob", "text": "...", "reason": "only punctuation"}
    ]
    plan = EpisodePlan("ep1", "ep1.csv", tuple(s for s, _ in segments), {"missing": missing})
    path = proj.root / "plan.json"
    path.write_text(json.dumps(plan.to_dict()))
    return build_assets(
        path,
        proj.store,
        AssetSettings.from_dict({"strict": strict, **kw}),
        150.0,
        proj.folder,
        proj.root / "out" / "ep1.assets.json",
        proj.root / "out" / "ep1.assets-changes.json",
    )


def test_unspeakable_lines_are_listed_under_missing_and_fail_strict_mode(tmp_path):
    proj = Project(tmp_path)
    changes = _plan_with_missing(proj)
    manifest = proj.manifest()
    assert [a["id"] for a in manifest["assets"]] == ["l1"]
    assert manifest["missing"] == [
        {"id": "l2", "line": 2, "character": "bob", "text": "...", "reason": "only punctuation"}
    ]
    assert changes["missing"] == ["l2"]
    with pytest.raises(AssetError, match=r"ep1.csv:2: strict mode: 1 line id\(s\) have nothing"):
        _plan_with_missing(Project(tmp_path / "again"), strict=True)
    assert not (tmp_path / "again" / "out" / "ep1").exists()  # nothing written


# ---------------------------------------------------------------- finding 3: id rules


def test_a_literal_id_equal_to_another_ids_file_name_is_refused():
    where = {"line:5837f2": "ep1.csv:2", "line_5837f2-93abd3": "ep1.csv:3"}
    with pytest.raises(AssetError) as err:
        asset_stems(["line:5837f2", "line_5837f2-93abd3"], where=where)
    assert "ep1.csv:3" in str(err.value) and "ep1.csv:2" in str(err.value)


def test_an_explicit_id_equal_to_a_derived_id_is_refused_naming_both_lines():
    derived = assign_uids([Utterance(5, "bob", None, (), "Hi.")])[0].uid
    items = [Utterance(2, "bob", None, (), "Hi."), Utterance(3, "ann", None, (), "Yo.", derived)]
    with pytest.raises(SourceError, match=rf"ep1.txt:2: .*{derived}.*line 3"):
        assign_uids(items, "ep1.txt")


def test_an_id_too_long_is_refused_at_plan_time(tmp_path):
    plan = EpisodePlan("ep1", "ep1.csv", (seg("c" * 20, "x" * 300, "Hi.", 4),))
    with pytest.raises(AssetError, match=r"ep1.csv:4: this line's id is 300 characters long"):
        check_asset_plans(
            {"ep1": plan},
            AssetSettings.from_dict({}),
            {"ep1": tmp_path / "out/ep1"},
            tmp_path / "out",
        )


def test_the_file_name_template_and_prefix_strip():
    assert asset_stems(["start_c2ba5583"], "{id}") == {"start_c2ba5583": "start_c2ba5583"}
    assert asset_stems(["line:5837f2"], strip_prefix="line:") == {"line:5837f2": "5837f2"}
    fields = {"q1": {"character": "alice", "episode": "ep1", "line": 3}}
    assert asset_stems(["q1"], "{episode}-{character}-{id}", fields=fields) == {
        "q1": "ep1-alice-q1"
    }
    with pytest.raises(AssetError, match="assets.name"):
        asset_stems(["q1"], "{speaker}")


# ---------------------------------------------------------------- finding 4: folders


def test_two_episodes_share_a_folder_without_touching_each_others_files(tmp_path):
    store, folder = tmp_path / "store", tmp_path / "out" / "voice"
    for episode, uid in (("ep1", "a1"), ("ep2", "b1")):
        s = seg(("d" if episode == "ep1" else "e") * 20, uid, "Hi.", 1)
        proj = Project(tmp_path)
        proj.store = store
        plan_file = proj.plan([(s, tone(1.0))])
        data = json.loads(plan_file.read_text())
        data["episode"] = episode
        plan_file.write_text(json.dumps(data))
        build_assets(
            plan_file,
            store,
            AssetSettings.from_dict({}),
            150.0,
            folder,
            tmp_path / "out" / f"{episode}.assets.json",
            tmp_path / "out" / f"{episode}.ch.json",
        )
    assert sorted(p.name for p in folder.iterdir()) == [
        ".ttsbuild-assets.ep1.json",
        ".ttsbuild-assets.ep2.json",
        "a1.wav",
        "b1.wav",
    ]


def test_an_asset_cannot_claim_an_episode_output_or_another_episodes_file(tmp_path):
    out = tmp_path / "out"
    plans = {"ep1": EpisodePlan("ep1", "ep1.csv", (seg("f" * 20, "ep1", "Hi.", 2),))}
    with pytest.raises(
        AssetError, match=r"ep1.csv:2: line id 'ep1' would be written to out/ep1.wav"
    ):
        check_asset_plans(plans, AssetSettings.from_dict({}), {"ep1": out}, out)
    plans = {
        "ep1": EpisodePlan("ep1", "ep1.csv", (seg("f" * 20, "q1", "Hi.", 2),)),
        "ep2": EpisodePlan("ep2", "ep2.csv", (seg("f" * 20, "q1", "Hi.", 7),)),
    }
    shared = {"ep1": out / "voice", "ep2": out / "voice"}
    with pytest.raises(AssetError, match=r"ep2.csv:7: .* ep1.csv:2 \(episode ep1\)"):
        check_asset_plans(plans, AssetSettings.from_dict({}), shared, out)


# ---------------------------------------------------------------- the change report


def entry(uid: str, text: str, line: int, character: str = "bob") -> AssetEntry:
    return AssetEntry(uid, f"ep/{uid}.wav", character, text, "en", line, (uid,), {}, {}, "m", uid)


def test_an_edited_line_with_a_derived_id_is_changed_not_removed_and_added():
    old = [entry("ua1b2c3d4e5", "Hi.", 1), entry("u0000000001", "How are you?", 2)]
    new = [entry("ua1b2c3d4e5", "Hi.", 1), entry("u9999999999", "How are you doing?", 2)]
    report = diff_assets(old, new)
    assert report["changed"] == [
        {"id": "u9999999999", "was": "u0000000001", "what": ["text", "file"]}
    ]
    assert report["added"] == [] and report["removed"] == []
    # a different speaker at that place is a removal and an addition
    other = [entry("ua1b2c3d4e5", "Hi.", 1), entry("u9999999999", "Hello.", 2, "ann")]
    assert diff_assets(old, other)["removed"] == ["u0000000001"]


def test_unspoken_items_carry_their_reason():
    u = Unspoken(4, "y", "...", "only punctuation: nothing to speak", "banners_0fa1ccb3")
    assert u.to_dict()["reason"].startswith("only punctuation")


def test_a_file_too_short_for_bs1770_is_peak_normalized_and_says_why(tmp_path):
    proj = Project(tmp_path)
    changes = proj.build([(seg("9" * 20, "oh", "Oh.", 1), tone(0.2))], margin_ms=20)
    levels = proj.manifest()["assets"][0]["levels"]
    assert levels["normalization"].startswith("peak (shorter than BS.1770's 400 ms block")
    assert levels["true_peak_dbtp"] == pytest.approx(-1.0, abs=0.05)
    assert changes["warnings"][0]["id"] == "oh"


@pytest.mark.parametrize("uid", ["CON", "nul", "Aux", "com1", "LPT9", "con.intro", "prn"])
def test_windows_reserved_names_get_a_suffix(uid):
    """A Yarn id such as #line:con would otherwise be written to con.ogg, a file Windows
    cannot create (attack-c)."""
    stem = asset_stems([uid])[uid]
    assert stem != uid and stem.startswith(f"{uid}-") and len(stem) == len(uid) + 7
    assert asset_stems(["console", "nul_1", "com10"]) == {
        "console": "console",
        "nul_1": "nul_1",
        "com10": "com10",
    }


def test_two_episodes_sharing_a_folder_with_ids_differing_only_in_case_are_refused(tmp_path):
    """Intro_01 in one episode and intro_01 in another would be one file on a
    case-insensitive target (Windows, macOS): refused at plan time (attack-c)."""
    out = tmp_path / "out"
    plans = {
        "ep1": EpisodePlan("ep1", "ep1.csv", (seg("f" * 20, "Intro_01", "Hi.", 2),)),
        "ep2": EpisodePlan("ep2", "ep2.csv", (seg("e" * 20, "intro_01", "Bye.", 5),)),
    }
    shared = {"ep1": out / "voice", "ep2": out / "voice"}
    with pytest.raises(AssetError, match=r"ep2.csv:5: line id 'intro_01' of episode ep2 .*ep1"):
        check_asset_plans(plans, AssetSettings.from_dict({}), shared, out)
