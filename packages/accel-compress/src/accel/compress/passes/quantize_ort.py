"""ONNX Runtime int8: static QDQ calibrated on real inputs, and dynamic for MatMul/Gemm."""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accel.compress.atomic import atomic_path
from accel.compress.data import inputs_of
from accel.compress.passes.fallback import Layer
from accel.compress.signature import Inputs, as_tuple
from accel.core.errors import ConfigError


def batch_reader(input_names: list[str], data: Iterable[Any], limit: int) -> Any:
    """An ORT CalibrationDataReader over up to `limit` batches of real inputs, one feed entry
    per ONNX input by position (a class built here, so importing this module needs no
    onnxruntime: it is the `[ort]` extra)."""
    from onnxruntime.quantization import CalibrationDataReader

    feeds = same_batch_size(
        [feed_of(input_names, inputs_of(b)) for b in itertools.islice(iter(data), limit)]
    )

    class BatchReader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(feeds)

        def get_next(self) -> dict[str, Any] | None:
            return next(self._batches, None)

    return BatchReader()


def same_batch_size(feeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batches of the most common batch size (a loader's smaller last batch left out):
    ONNX Runtime's histogram calibrations (percentile, entropy) stack every batch's
    activations into one array and fail on ragged batches ("inhomogeneous shape")."""
    sizes = Counter(len(next(iter(f.values()))) for f in feeds if f)
    if len(sizes) <= 1:
        return feeds
    common = sizes.most_common(1)[0][0]
    return [f for f in feeds if f and len(next(iter(f.values()))) == common]


def feed_of(input_names: list[str], inputs: Inputs) -> dict[str, Any]:
    """`{onnx input name: array}` for one batch (floats as float32, integers as they are)."""
    from accel.core.inference import to_numpy

    tensors = as_tuple(inputs)
    if len(tensors) != len(input_names):
        raise ConfigError(
            f"calibration batches hold {len(tensors)} input(s), the ONNX model takes "
            f"{len(input_names)} ({', '.join(input_names)}): give one array per input"
        )
    return {name: to_numpy(t) for name, t in zip(input_names, tensors, strict=True)}


def graph_inputs(path: Path) -> list[str]:
    """The names of an ONNX graph's inputs, in order (weights listed as inputs left out)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    return [i.name for i in graph.input if i.name not in weights]


def saturates(target: str) -> bool:
    """Whether this machine's int8 kernels can overflow on `target` with 8-bit weights: an
    x86 CPU without VNNI (no `avx512_vnni`, `avx_vnni` or AMX) multiplies u8 activations by
    s8 weights with `vpmaddubsw`, which adds pairs of products into a saturating int16, and
    large products clip (a random-weight GRU: relative error 0.16 instead of 0.005). ONNX
    Runtime's advice is 7-bit weights (`reduce_range`); the kernels are the same speed. Where
    the CPU's flags cannot be read (not Linux), x86 is assumed to saturate."""
    import platform

    if target != "x86" or platform.machine().lower() not in ("x86_64", "amd64", "i686"):
        return False
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split()}
    return not flags & {"avx512_vnni", "avx_vnni", "amx_int8"}


def activation_types(target: str) -> tuple[Any, Any]:
    """(activation, weight) int8 types: u8/s8 on x86 (VNNI), s8/s8 on ARM."""
    from onnxruntime.quantization import QuantType

    if target == "arm64":
        return QuantType.QInt8, QuantType.QInt8
    return QuantType.QUInt8, QuantType.QInt8


class OrtInt8:
    """One ONNX model prepared (and, for static int8, calibrated) once, then quantized as often
    as the float-fallback search asks: every layer, only some, or all but some.

    Static: shape inference + optimisation (`quant_pre_process`), then QDQ with per-channel
    weights; the calibration ranges are computed on the first call and cached in `folder`
    (ONNX Runtime's own calibration cache), so later calls only rewrite the graph. Dynamic:
    MatMul/Gemm weights (per output channel) and embedding tables, never ConvInteger, which is
    slow on CPUs. Graph nodes are named first where they have no name: the search refers to
    layers by node name.
    """

    def __init__(
        self,
        source: Path,
        folder: Path,
        *,
        mode: str,
        data: Iterable[Any] | None = None,
        target: str = "x86",
        limit: int = 16,
        calibration: str = "minmax",
    ) -> None:
        if calibration not in CALIBRATIONS:
            raise ConfigError(
                f"quantize: calibration {calibration!r} is not one of {', '.join(CALIBRATIONS)}"
            )
        self.mode, self.target, self.calibration = mode, target, calibration
        self.reduce_range = saturates(target)
        folder.mkdir(parents=True, exist_ok=True)
        self.prepared, self.cache = folder / "prepared.onnx", folder / "calibration.json"
        self.cache.unlink(missing_ok=True)  # ranges of an earlier model in the same folder
        self.reader = None
        if mode == "static":
            from onnxruntime.quantization.shape_inference import quant_pre_process

            if data is None:
                raise ConfigError("static int8 needs calibration data: pass --calib-data")
            self.reader = batch_reader(graph_inputs(source), data, limit)
            with quiet_quantizer():
                quant_pre_process(str(source), str(self.prepared), skip_symbolic_shape=True)
            name_nodes(self.prepared, self.prepared)
        else:
            unnamed = unnamed_nodes(source)
            self.prepared = name_nodes(source, self.prepared) if unnamed else source
        self.aliases = gemm_aliases(self.prepared) if mode != "static" else {}
        self.tied = tied_tables(self.prepared) if mode != "static" else {}

    def quantize(
        self, output: Path, *, only: Sequence[str] | None = None, exclude: Sequence[str] = ()
    ) -> Path:
        """Write the int8 model to `output`: every quantizable layer, or `only` those nodes,
        and never the nodes in `exclude` (they run in float)."""
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_dynamic,
            quantize_static,
        )

        chosen = None if only is None else [self.aliases.get(n, n) for n in only]
        excluded = [self.aliases.get(n, n) for n in exclude]
        with atomic_path(output) as temp, quiet_quantizer():
            if self.mode == "static":
                activation, weight = activation_types(self.target)
                quantize_static(
                    str(self.prepared),
                    str(temp),
                    None if self.cache.is_file() else self.reader,
                    quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    reduce_range=self.reduce_range,
                    activation_type=activation,
                    weight_type=weight,
                    nodes_to_quantize=chosen,
                    nodes_to_exclude=excluded,
                    calibrate_method=getattr(CalibrationMethod, CALIBRATIONS[self.calibration]),
                    calibration_cache_path=str(self.cache),
                )
            else:
                quantize_dynamic(
                    str(self.prepared),
                    str(temp),
                    op_types_to_quantize=list(DYNAMIC_OPS),
                    weight_type=QuantType.QInt8,
                    reduce_range=self.reduce_range,
                    nodes_to_quantize=chosen,
                    nodes_to_exclude=excluded,
                    per_channel=True,
                )
                if self.tied:
                    share_tables(self.tied, temp)
        return output

    def layers(self, quantized: Path) -> list[Layer]:
        """The layers `quantized` (this model at full int8) runs in int8, in graph order, each
        with what keeping its weights in float would add to the file."""
        import onnx

        float_graph = onnx.load(str(self.prepared), load_external_data=False).graph
        weights = {t.name: t for t in float_graph.initializer}
        names = set(
            quantizer_touched(quantized) if self.mode == "static" else self.int8_layers(quantized)
        )
        layers = []
        for node in float_graph.node:
            if node.name in names:
                extra = sum(3 * numel(weights[i]) for i in node.input if i in weights)
                layers.append(Layer(node.name, node.op_type, extra))
        return layers

    def int8_layers(self, quantized: Path) -> list[str]:
        """`int8_nodes` of a model this quantizer wrote, by the float model's node names."""
        float_name = {alias: name for name, alias in self.aliases.items()}
        return [float_name.get(n, n) for n in int8_nodes(quantized, self.mode)]


def tied_tables(path: Path) -> dict[str, str]:
    """{embedding table: head weight} of a float ONNX model (see `tied_tables.tied_pairs`):
    found once per model, as every quantization of it (the fallback's many) reuses them."""
    import onnx

    from accel.compress.passes.tied_tables import tied_pairs

    return tied_pairs(onnx.load(str(path), load_external_data=False).graph)


def share_tables(pairs: dict[str, str], quantized: Path) -> None:
    """One int8 copy of each tied embedding/head table in `pairs`, in place."""
    import onnx

    from accel.compress.passes.tied_tables import share_tied_tables

    proto = onnx.load(str(quantized))
    if share_tied_tables(pairs, proto):
        onnx.save_model(proto, str(quantized))


def gemm_aliases(path: Path) -> dict[str, str]:
    """The name ONNX Runtime's dynamic quantizer gives each Gemm: it rewrites a Gemm as a
    MatMul named `<gemm>_MatMul` (+ Add) before it chooses nodes, so a Gemm is included or
    excluded only by that name (a GPT-2's every Linear is a Gemm)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return {n.name: f"{n.name}_MatMul" for n in graph.node if n.op_type == "Gemm"}


# Dynamic int8: MatMul/Gemm weights, and embedding tables (Gather of an initializer, stored in
# 8 bits and dequantized after the lookup: most of a transformer's file, a 4-layer BERT's
# 31 of 43 MB; the lookup itself costs nothing measurable).
DYNAMIC_OPS = ("MatMul", "Gemm", "Gather")
# How static int8 sets each tensor's range from the calibration data (ONNX Runtime's names):
# the extremes; the 99.999th percentile of |x| (outliers clipped); the threshold that keeps
# the histogram's KL divergence smallest.
CALIBRATIONS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def quantizer_touched(path: Path) -> list[str]:
    """The nodes of a QDQ model with an input from a DequantizeLinear: what ONNX Runtime's
    quantizer quantized for each node (its inputs, and for some its outputs), whether or not
    the node itself then runs as an integer kernel; excluding one undoes what it asked for."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    dequantized = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    return [
        n.name
        for n in graph.node
        if n.op_type not in QDQ_OPS and any(i in dequantized for i in n.input)
    ]


def int8_nodes(path: Path, mode: str) -> list[str]:
    """Names of the layers that run in int8 in a quantized model, read from its graph.

    Static (QDQ): a layer with weights runs in int8 when its weights are dequantized from an
    integer initializer; one without weights (Add, Mul, pooling) when every input comes from a
    DequantizeLinear and every output goes only into a QuantizeLinear (the unit ONNX Runtime
    fuses into an integer kernel). Dynamic: the MatMul/Gemm turned into integer ops (named
    after the float node, with a `_quant` suffix), and the embedding lookups (Gather) whose
    table is stored in 8 bits.
    """
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    if mode != "static":
        lookups = set(int8_lookups(graph))
        return [
            n.name.removesuffix("_quant")
            for n in graph.node
            if "Integer" in n.op_type or n.name in lookups
        ]
    weights = {t.name for t in graph.initializer}
    dq_of_weight = {
        n.output[0] for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in weights
    }
    dequantized = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    consumers: dict[str, list[str]] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n.op_type)
    names = []
    for n in graph.node:
        if n.op_type in QDQ_OPS:
            continue
        if any(i in dq_of_weight for i in n.input):
            names.append(n.name)
            continue
        activations = [i for i in n.input if i and i not in weights]
        requantized = all(consumers.get(o) and set(consumers[o]) == {"QuantizeLinear"}
                          for o in n.output)  # fmt: skip
        if activations and all(i in dequantized for i in activations) and requantized:
            names.append(n.name)
    return names


def int8_lookups(graph: Any) -> list[str]:
    """The embedding lookups (Gather nodes) of an ONNX graph whose table is stored in 8 bits."""
    import onnx

    eight_bit = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8}
    tables = {t.name for t in graph.initializer if t.data_type in eight_bit}
    return [n.name for n in graph.node if n.op_type == "Gather" and n.input[0] in tables]


QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def numel(tensor: Any) -> int:
    return math.prod(tensor.dims) if tensor.dims else 1


def unnamed_nodes(path: Path) -> bool:
    import onnx

    return any(not n.name for n in onnx.load(str(path), load_external_data=False).graph.node)


def name_nodes(source: Path, output: Path) -> Path:
    """`source` with a unique name on every node (`<op>_<index>` where it had none): ONNX
    Runtime's quantizer selects and excludes layers by node name."""
    import onnx

    model = onnx.load(str(source))
    taken = {n.name for n in model.graph.node if n.name}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)
    large = model.ByteSize() > EXTERNAL_DATA_BYTES
    onnx.save_model(model, str(output), save_as_external_data=large, location=f"{output.name}.data")
    return output


EXTERNAL_DATA_BYTES = 1_500_000_000  # protobuf's 2 GB limit, with room


@contextmanager
def quiet_quantizer() -> Iterator[None]:
    """ONNX Runtime's quantizer logs warnings on the root logger (one per LayerNorm weight it
    cannot quantize per channel, "consider pre-processing"): what it left in float the
    report says; its notes to developers are muted while it runs."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def count_ops(path: Path) -> dict[str, int]:
    """How many nodes of each op type an ONNX graph holds."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return dict(Counter(node.op_type for node in model.graph.node))
