"""One ONNX graph rewrite that makes a voice faster on ONNX Runtime's CPU provider: 1-D
convolutions as 2-D ones over a height of one.

ONNX Runtime runs a 1-D ``Conv`` as im2col and a matrix product, but a 2-D one with a
channel count that fits its blocked (NCHWc) layout through direct convolution kernels. The
same weights, the same sums, in another order: on Piper's ``en_US-joe-medium`` (129 1-D
convolutions, 69 % of a line's time) one single-threaded session synthesized the same lines in
0.82 of the time, with samples at most 5e-5 apart (SNR at least 90 dB, the same lengths;
``bench/piper_layouts.py``, docs/performance.md). The rewrite is deterministic, so one graph in
is always the same graph out, and what it changes is part of the engine's version.

:func:`rewritten_graph` keeps each rewritten graph in the user's cache with its sha256 beside
it, so a voice load after the first costs what it did before the rewrite (no ``onnx`` import,
no rewrite: about 0.7 s less), and a cache file altered on disk is rewritten, never run.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from ttsbuild.core.content import content_hash
from ttsbuild.core.errors import EngineError
from ttsbuild.core.fsutil import write_bytes_atomic, write_text_atomic

log = logging.getLogger(__name__)

#: The name of this rewrite in an engine's version and its cache files: changing what the
#: rewrite does must change it.
REWRITE = "conv1d-as-2d"
_AXIS = "ttsbuild_axis_2"


#: The distributions that install the ``onnxruntime`` module (CPU, CUDA, OpenVINO, DirectML).
ORT_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-openvino",
    "onnxruntime-directml",
)


def onnxruntime_version() -> str:
    """The installed ONNX Runtime's version, whichever distribution installed it (a GPU user's
    is ``onnxruntime-gpu``), without importing it; PackageNotFoundError when none did."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ORT_DISTRIBUTIONS:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    raise PackageNotFoundError("onnxruntime")


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _as_2d(attrs: dict[str, Any]) -> dict[str, Any]:
    """A 1-D ``Conv``'s attributes for the same convolution over a height of one."""
    out = {k: [1, *v] for k, v in attrs.items() if k in ("kernel_shape", "dilations", "strides")}
    if "pads" in attrs:
        begin, end = attrs["pads"]
        out["pads"] = [0, begin, 0, end]
    out.update({k: attrs[k] for k in ("group", "auto_pad") if k in attrs})
    return out


def _axis_op(op: str, x: str, y: str, opset: int) -> Any:
    from onnx import helper

    if opset >= 13:  # axes became an input in opset 13
        return helper.make_node(op, [x, _AXIS], [y])
    return helper.make_node(op, [x], [y], axes=[2])


def _subgraph_names(graph: Any) -> set[str]:
    """Every tensor name that a subgraph of ``graph``'s nodes (``If``, ``Loop``, ``Scan``
    bodies, at any depth) reads, writes or declares."""
    names: set[str] = set()
    for node in graph.node:
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                names |= {t for n in sub.node for t in (*n.input, *n.output)}
                names |= {v.name for v in (*sub.input, *sub.output, *sub.initializer)}
                names |= _subgraph_names(sub)
    return names


def _convs_1d(graph: Any) -> list[Any]:
    """The top-level standard ``Conv`` nodes with 1-D weights stored in the graph that nothing
    else reads, declares or exports (no graph input or output, ``value_info`` or subgraph
    names them, no other node reads them): their weights can take the 2-D shape in place.
    Every other convolution stays as it is."""
    from collections import Counter

    stored = {i.name: len(i.dims) for i in graph.initializer}
    elsewhere = {v.name for v in (*graph.input, *graph.output, *graph.value_info)}
    elsewhere |= _subgraph_names(graph)
    candidates = [
        n
        for n in graph.node
        if n.op_type == "Conv" and n.domain in ("", "ai.onnx") and len(n.input) >= 2
        and stored.get(n.input[1]) == 3 and n.input[1] not in elsewhere
    ]  # fmt: skip
    reads = Counter(name for node in graph.node for name in node.input)
    as_weights = Counter(n.input[1] for n in candidates)
    return [n for n in candidates if reads[n.input[1]] == as_weights[n.input[1]]]


def _taken_names(graph: Any) -> set[str]:
    """Every tensor name ``graph`` uses, declares or holds, its subgraphs' included."""
    return (
        {t for n in graph.node for t in (*n.input, *n.output)}
        | {v.name for v in (*graph.input, *graph.output, *graph.value_info, *graph.initializer)}
        | _subgraph_names(graph)
    )


def conv1d_as_conv2d(model: Path) -> bytes:
    """``model`` with each 1-D ``Conv`` that :func:`_convs_1d` picks run as a 2-D one:
    ``Unsqueeze`` (height 1), the 2-D ``Conv``, then ``Squeeze``, each writing the tensor the
    1-D one wrote. Convolutions inside subgraphs, with computed or shared weights, stay 1-D."""
    import numpy as np

    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise EngineError("Piper needs the onnx package: pip install 'ttsbuild[piper]'") from None

    proto = onnx.load(str(model))
    graph = proto.graph
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    convs = _convs_1d(graph)
    if not convs:
        return bytes(proto.SerializeToString())
    new = {_AXIS} | {f"{n.output[0]}/{end}" for n in convs for end in ("4d_in", "4d_out")}
    clashes = sorted(new & _taken_names(graph))
    if clashes:
        raise EngineError(
            f"{model}: cannot rewrite its convolutions, it names a tensor {clashes[0]!r}"
        )
    weights = {i.name: i for i in graph.initializer}
    for name in {n.input[1] for n in convs}:  # only these convolutions read them
        array = numpy_helper.to_array(weights[name])[:, :, None, :]
        weights[name].CopyFrom(numpy_helper.from_array(array, name))
    if opset >= 13:
        graph.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), _AXIS))
    chosen = {id(n) for n in convs}
    nodes = []
    for node in graph.node:
        if id(node) not in chosen:
            nodes.append(node)
            continue
        x4, y4 = f"{node.output[0]}/4d_in", f"{node.output[0]}/4d_out"
        attrs = _as_2d(_attrs(node))
        nodes.append(_axis_op("Unsqueeze", node.input[0], x4, opset))
        nodes.append(helper.make_node("Conv", [x4, *node.input[1:]], [y4], name=node.name, **attrs))
        nodes.append(_axis_op("Squeeze", y4, node.output[0], opset))
    del graph.node[:]
    graph.node.extend(nodes)
    return bytes(proto.SerializeToString())


def graph_cache() -> Path | None:
    """Where rewritten graphs are kept: ``$TTSBUILD_CACHE/graphs``, else
    ``$XDG_CACHE_HOME/ttsbuild/graphs`` (an absolute one, as the XDG spec says), else
    ``~/.cache/ttsbuild/graphs``; None when there is no home folder to put it in."""
    given = os.environ.get("TTSBUILD_CACHE")
    if given:
        return Path(given).expanduser() / "graphs"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "ttsbuild" / "graphs"
    try:
        return Path.home() / ".cache" / "ttsbuild" / "graphs"
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None


def rewritten_graph(model: Path, refresh: bool = False) -> str | bytes:
    """:func:`conv1d_as_conv2d` of ``model``: the path of the cached graph when the cache holds
    the graph for these bytes of the model and it still has the sha256 recorded beside it
    (ONNX Runtime then reads the file itself, one copy in memory), else (or with ``refresh``)
    the rewritten bytes, kept in the cache for the next load. A cache that cannot be written
    costs the rewrite at every load, and says so once per process."""
    folder = graph_cache()
    if folder is None:
        _unkept(Path("~/.cache/ttsbuild/graphs"), "no home folder; set TTSBUILD_CACHE")
        return conv1d_as_conv2d(model)
    graph = folder / f"{content_hash(model)}.{REWRITE}.onnx"
    digest = graph.with_name(f"{graph.name}.sha256")
    try:  # is_file first: a FIFO there would block the hash; content_hash is memoized
        if not refresh and graph.is_file():
            if digest.read_text("ascii").strip() == content_hash(graph):
                return str(graph)
    except (OSError, ValueError):  # missing, unreadable, not text: rewritten below
        pass
    data = conv1d_as_conv2d(model)
    try:
        write_bytes_atomic(graph, data, durable=False)
        write_text_atomic(digest, hashlib.sha256(data).hexdigest())
    except OSError as exc:
        _unkept(graph.parent, str(exc.strerror or exc))
    return data


@functools.cache
def _unkept(folder: Path, reason: str) -> None:
    """Say once per process and folder that rewritten graphs cannot be kept there."""
    log.warning(
        "cannot keep rewritten voice graphs in %s (%s): every voice load rewrites its graph "
        "(about 0.7 s); set TTSBUILD_CACHE to a writable folder",
        folder,
        reason,
    )
