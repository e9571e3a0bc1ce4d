"""1-D convolutions run as 2-D ones (ttsbuild/engines/onnx_graph.py): the same outputs to
float rounding, for every shape of convolution, and on the real Piper voice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from ttsbuild.core.errors import EngineError  # noqa: E402
from ttsbuild.engines.onnx_graph import conv1d_as_conv2d  # noqa: E402


def _session(model: bytes | str) -> object:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def _conv_model(path: Path, spec: dict, opset: int, weight_read_elsewhere: bool) -> None:
    """x (1, cin, T) -> Conv1d -> LeakyRelu -> Conv1d (same weights when square) -> y; and,
    when asked, the first weights also flow out as a second output (read by an Identity)."""
    rng = np.random.default_rng(spec["seed"])
    cin, cout, k, group = spec["cin"], spec["cout"], spec["kernel"], spec["group"]
    weight = rng.standard_normal((cout, cin // group, k)).astype(np.float32)
    inits = [numpy_helper.from_array(weight, "w")]
    attrs = {
        "kernel_shape": [k],
        "dilations": [spec["dilation"]],
        "strides": [spec["stride"]],
        "pads": [spec["pad_begin"], spec["pad_end"]],
        "group": group,
    }
    first = ["x", "w"]
    if spec["bias"]:
        inits.append(numpy_helper.from_array(rng.standard_normal(cout).astype(np.float32), "b"))
        first.append("b")
    nodes = [
        helper.make_node("Conv", first, ["h"], **attrs),
        helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.1),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if cin == cout:  # the same weights read by a second convolution
        nodes.append(helper.make_node("Conv", ["a", "w"], ["y"], kernel_shape=[k], group=group))
    else:
        nodes.append(helper.make_node("Identity", ["a"], ["y"]))
    if weight_read_elsewhere:
        nodes.append(helper.make_node("Identity", ["w"], ["w_out"]))
        outputs.append(helper.make_tensor_value_info("w_out", TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, None])],
        outputs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(model, str(path))


@st.composite
def conv_specs(draw):
    group = draw(st.sampled_from([1, 1, 2, 4]))
    return {
        "cin": group * draw(st.integers(1, 6)),
        "cout": group * draw(st.integers(1, 6)),
        "group": group,
        "kernel": draw(st.integers(1, 7)),
        "dilation": draw(st.integers(1, 3)),
        "stride": draw(st.integers(1, 3)),
        "pad_begin": draw(st.integers(0, 4)),
        "pad_end": draw(st.integers(0, 4)),
        "bias": draw(st.booleans()),
        "length": draw(st.integers(30, 120)),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(max_examples=60, deadline=None)
@given(conv_specs(), st.sampled_from([11, 13, 15]), st.booleans())
def test_every_1d_convolution_gives_the_same_outputs_as_2d(tmp_path_factory, spec, opset, shared):
    path = tmp_path_factory.mktemp("g") / "m.onnx"
    _conv_model(path, spec, opset, shared)
    x = (
        np.random.default_rng(spec["seed"] + 1)
        .standard_normal((1, spec["cin"], spec["length"]))
        .astype(np.float32)
    )
    before = _session(str(path)).run(None, {"x": x})
    rewritten = conv1d_as_conv2d(path)
    after = _session(rewritten).run(None, {"x": x})
    assert [a.shape for a in after] == [b.shape for b in before]
    for a, b in zip(after, before):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    graph = onnx.load_from_string(rewritten).graph
    shapes = {i.name: len(i.dims) for i in graph.initializer}
    # weights another node reads (here: exported as a graph output) keep their 1-D shape and
    # their convolutions stay 1-D; all others are 2-D
    assert all(
        shapes[n.input[1]] == (3 if shared else 4) for n in graph.node if n.op_type == "Conv"
    )


def test_a_graph_without_1d_convolutions_is_unchanged(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "m.onnx"))
    assert onnx.load_from_string(conv1d_as_conv2d(tmp_path / "m.onnx")) == onnx.load(
        str(tmp_path / "m.onnx")
    )


def test_a_name_the_rewrite_needs_that_the_graph_has_is_a_clear_error(tmp_path):
    spec = {
        "cin": 2,
        "cout": 3,
        "group": 1,
        "kernel": 3,
        "dilation": 1,
        "stride": 1,
        "pad_begin": 1,
        "pad_end": 1,
        "bias": False,
        "seed": 0,
    }
    _conv_model(tmp_path / "m.onnx", spec, 15, False)
    model = onnx.load(str(tmp_path / "m.onnx"))
    model.graph.node[1].output[0] = "h/4d_out"  # the LeakyRelu now writes a name of ours
    model.graph.node[2].input[0] = "h/4d_out"
    onnx.save(model, str(tmp_path / "m.onnx"))
    with pytest.raises(EngineError, match=r"m\.onnx: cannot rewrite its convolutions.*h/4d_out"):
        conv1d_as_conv2d(tmp_path / "m.onnx")


def test_the_piper_voice_sounds_the_same_with_2d_convolutions():
    """The bundled voice: every 1-D convolution rewritten, the same length, samples within
    float rounding of the stock graph's (SNR over 80 dB), and the same bytes run after run."""
    pytest.importorskip("piper")
    from ttsbuild.engines.piper import _bundled_paths

    model, _ = _bundled_paths()
    rewritten = conv1d_as_conv2d(model)
    graph = onnx.load_from_string(rewritten).graph
    shapes = {i.name: len(i.dims) for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert len(convs) > 100 and all(shapes[n.input[1]] == 4 for n in convs)
    ids = np.array([[1, 20, 59, 3, 35, 120, 3, 61, 102, 25, 3, 32, 14, 100, 2]], dtype=np.int64)
    feeds = {
        "input": ids,
        "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
        "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),
    }
    stock = _session(str(model)).run(None, feeds)[0].ravel()
    new = _session(rewritten).run(None, feeds)[0].ravel()
    again = _session(conv1d_as_conv2d(model)).run(None, feeds)[0].ravel()
    assert len(new) == len(stock) > 2000 and np.array_equal(new, again)
    snr = 10 * np.log10(np.sum(stock**2) / np.sum((stock - new) ** 2))
    assert snr > 80, snr


SMALL = {"cin": 4, "cout": 4, "group": 2, "kernel": 5, "dilation": 2, "stride": 1,
         "pad_begin": 4, "pad_end": 4, "bias": True, "seed": 3}  # fmt: skip


def test_a_rewritten_graph_is_kept_and_an_altered_copy_is_rewritten(tmp_path, monkeypatch):
    from ttsbuild.engines import onnx_graph

    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "cache"))
    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    fresh = conv1d_as_conv2d(tmp_path / "m.onnx")
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == fresh
    kept, digest = sorted((tmp_path / "cache" / "graphs").iterdir())
    assert kept.name.endswith(".conv1d-as-2d.onnx") and digest.name == kept.name + ".sha256"

    def no_rewrite(model):
        raise AssertionError("rewritten again although the cache holds the graph")

    monkeypatch.setattr(onnx_graph, "conv1d_as_conv2d", no_rewrite)
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == str(kept)  # from the cache
    assert kept.read_bytes() == fresh
    damaged = bytearray(kept.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01  # one bit in the weights
    kept.write_bytes(bytes(damaged))
    monkeypatch.setattr(onnx_graph, "conv1d_as_conv2d", conv1d_as_conv2d)
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == fresh  # never the altered copy
    assert kept.read_bytes() == fresh  # and the cache holds the right graph again


def test_an_unwritable_graph_cache_costs_only_time(tmp_path, monkeypatch):
    from ttsbuild.engines import onnx_graph

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "file"))
    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == conv1d_as_conv2d(tmp_path / "m.onnx")


def test_a_piper_model_that_cannot_be_loaded_is_one_error_naming_it(tmp_path, monkeypatch):
    """Rendering with a corrupt voice: one EngineError naming the model (the render adds the
    line), not the protobuf library's bare message."""
    pytest.importorskip("piper")
    from ttsbuild.engines.piper import _bundled_paths, loaded_voice

    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "x.onnx"
    bad.write_bytes(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    (tmp_path / "x.onnx.json").write_bytes(_bundled_paths()[1].read_bytes())
    with pytest.raises(EngineError, match=r"Piper model 'x\.onnx' cannot be loaded \(\w+: "):
        loaded_voice(bad, "x.onnx")
    assert not (tmp_path / "cache" / "graphs").exists()  # nothing kept for a model that failed


def test_a_digest_that_is_not_text_is_rewritten(tmp_path, monkeypatch):
    from ttsbuild.engines import onnx_graph

    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "cache"))
    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    fresh = onnx_graph.rewritten_graph(tmp_path / "m.onnx")
    kept, digest = sorted((tmp_path / "cache" / "graphs").iterdir())
    digest.write_bytes(b"not a hash\x00\xff")
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == fresh
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == str(kept)  # repaired


def test_a_cached_piper_graph_that_cannot_be_loaded_is_rewritten(tmp_path, monkeypatch, caplog):
    """A truncated graph whose recorded sha256 matches it (written by something else): the
    load says so and rewrites it, and the next load uses the repaired file."""
    pytest.importorskip("piper")
    import hashlib

    from ttsbuild.engines.onnx_graph import rewritten_graph
    from ttsbuild.engines.piper import _bundled_paths, load_voice

    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "cache"))
    model = _bundled_paths()[0]
    rewritten_graph(model)  # rewrites it and keeps it
    cached = Path(rewritten_graph(model))  # the kept file's path
    cached.write_bytes(cached.read_bytes()[:100_000])
    Path(f"{cached}.sha256").write_text(hashlib.sha256(cached.read_bytes()).hexdigest())
    load_voice(model)
    assert "cannot be loaded" in caplog.text and "rewriting it" in caplog.text
    assert cached.stat().st_size > 60_000_000 and rewritten_graph(model) == str(cached)


def test_a_cache_that_cannot_be_written_is_said_once(tmp_path, monkeypatch, caplog):
    from ttsbuild.engines import onnx_graph

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "file"))
    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    onnx_graph._unkept.cache_clear()
    for _ in range(3):
        onnx_graph.rewritten_graph(tmp_path / "m.onnx")
    assert caplog.text.count("cannot keep rewritten voice graphs") == 1


def _graph(nodes, inputs, outputs, inits, opset=15, ir=8):
    model = helper.make_model(
        helper.make_graph(nodes, "g", inputs, outputs, inits),
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = ir
    return model


def _x(name="x", channels=4):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, channels, None])


def _y(name="y"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def _w(name="w", shape=(4, 4, 3)):
    return numpy_helper.from_array(
        np.random.default_rng(1).standard_normal(shape, np.float32), name
    )


def _unusual_graphs():
    """Graphs where the weights are read by something besides top-level convolutions, or the
    convolution is not the standard one: each found by an adversarial pass to come out wrong
    or not load when its weights were reshaped."""
    conv = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1])
    yield "weights exported", _graph([conv], [_x()], [_y(), _y("w")], [_w()])
    yield "weights also a graph input", _graph(
        [conv], [_x(), helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 4, 3])],
        [_y()], [_w()], ir=3, opset=8,
    )  # fmt: skip
    branch = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["z"], pads=[1, 1])], "b", [], [_y("z")]
    )
    cond = numpy_helper.from_array(np.array(True), "c")
    yield "weights read inside an If", _graph(
        [conv, helper.make_node("If", ["c"], ["v"], then_branch=branch, else_branch=branch)],
        [_x()], [_y(), _y("v")], [_w(), cond],
    )  # fmt: skip
    yield "an axis name the graph already has", _graph(
        [conv], [_x(), helper.make_tensor_value_info("ttsbuild_axis_2", TensorProto.INT64, [1])],
        [_y()], [_w()],
    )  # fmt: skip


@pytest.mark.parametrize("case", list(_unusual_graphs()), ids=lambda case: case[0])
def test_unusual_graphs_run_as_before_or_say_why_not(tmp_path, case):
    name, model = case
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    feeds = {"x": np.random.default_rng(2).standard_normal((1, 4, 20)).astype(np.float32)}
    if name == "an axis name the graph already has":
        with pytest.raises(EngineError, match="it names a tensor 'ttsbuild_axis_2'"):
            conv1d_as_conv2d(path)
        return
    before = _session(str(path)).run(None, feeds)
    after = _session(conv1d_as_conv2d(path)).run(None, feeds)
    for a, b in zip(after, before):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_a_convolution_of_another_domain_is_left_alone(tmp_path):
    conv = helper.make_node("Conv", ["x", "w"], ["y"], domain="com.example")
    model = _graph([conv], [_x()], [_y()], [_w()])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(model, str(tmp_path / "m.onnx"))
    assert onnx.load_from_string(conv1d_as_conv2d(tmp_path / "m.onnx")) == model


def test_no_home_folder_means_no_cache_and_one_warning(tmp_path, monkeypatch, caplog):
    from ttsbuild.engines import onnx_graph

    for name in ("TTSBUILD_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    onnx_graph._unkept.cache_clear()
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == conv1d_as_conv2d(tmp_path / "m.onnx")
    assert "no home folder; set TTSBUILD_CACHE" in caplog.text


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    from ttsbuild.engines import onnx_graph

    monkeypatch.delenv("TTSBUILD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert onnx_graph.graph_cache() == tmp_path / ".cache" / "ttsbuild" / "graphs"


def test_a_fifo_where_the_graph_belongs_is_not_read(tmp_path, monkeypatch):
    import os

    from ttsbuild.core.content import content_hash
    from ttsbuild.engines import onnx_graph

    monkeypatch.setenv("TTSBUILD_CACHE", str(tmp_path / "cache"))
    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    folder = tmp_path / "cache" / "graphs"
    folder.mkdir(parents=True)
    fifo = folder / f"{content_hash(tmp_path / 'm.onnx')}.conv1d-as-2d.onnx"
    os.mkfifo(fifo)
    (folder / f"{fifo.name}.sha256").write_text("0" * 64)
    assert onnx_graph.rewritten_graph(tmp_path / "m.onnx") == conv1d_as_conv2d(tmp_path / "m.onnx")


def test_without_the_onnx_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    import sys

    _conv_model(tmp_path / "m.onnx", SMALL, 15, False)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(EngineError, match=r"Piper needs the onnx package: pip install"):
        conv1d_as_conv2d(tmp_path / "m.onnx")


def test_the_onnxruntime_version_comes_from_whichever_distribution_installed_it(monkeypatch):
    """A GPU user's ONNX Runtime is the onnxruntime-gpu distribution: Piper's and Kokoro's
    versions still name it (they said "Piper is not installed")."""
    from importlib import metadata

    from ttsbuild.engines import onnx_graph

    def only_gpu(name):
        if name == "onnxruntime-gpu":
            return "1.99.0"
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", only_gpu)
    assert onnx_graph.onnxruntime_version() == "1.99.0"

    def none(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", none)
    with pytest.raises(metadata.PackageNotFoundError):
        onnx_graph.onnxruntime_version()
