"""One int8 table for a tied embedding and language-model head (GPT-2, BERT's MLM head, T5).

The head's weight is the embedding table transposed. Dynamic int8 stores the two apart, the
table for the lookup (uint8, one range) and its transpose for the head's MatMulInteger (int8,
one scale per vocabulary entry): GPT-2 4x256 kept 2 x 12.9 MB of its 28 MB file in them. The
lookup is rewritten to read the head's copy instead: gather the columns of the [hidden, vocab]
int8 weight, transpose the gathered [hidden, tokens] (small: one column per token), and scale
each token's row by its own entry's scale; the head's weights are symmetric (zero points 0),
so that is the whole dequantization. A lookup whose int8 output feeds the next MatMulInteger
directly (no DequantizeLinear after it) is left as the quantizer wrote it.
"""

from __future__ import annotations

from typing import Any

QUANTIZED, SCALE, ZERO = "_quantized", "_scale", "_zero_point"


def tied_pairs(float_graph: Any) -> dict[str, str]:
    """{embedding table: head weight} of the float graph's initializers, where a Gather
    (axis 0) looks up in a [vocab, hidden] table whose transpose is a MatMul's weight."""
    import numpy as np
    from onnx import numpy_helper

    weights = {t.name: t for t in float_graph.initializer if not external(t)}
    tables = {
        n.input[0]
        for n in float_graph.node
        if n.op_type == "Gather" and n.input[0] in weights and axis_of(n) == 0
    }
    heads = {
        n.input[1] for n in float_graph.node if n.op_type == "MatMul" and n.input[1] in weights
    }
    pairs: dict[str, str] = {}
    for table in tables:
        dims = list(weights[table].dims)
        for head in heads:
            if len(dims) != 2 or list(weights[head].dims) != dims[::-1]:
                continue
            array = numpy_helper.to_array(weights[table])
            if np.array_equal(numpy_helper.to_array(weights[head]), array.T):
                pairs[table] = head
                break
    return pairs


def external(tensor: Any) -> bool:
    """Whether a tensor's data lies in another file (not loaded: not compared)."""
    from onnx import TensorProto

    return bool(tensor.data_location == TensorProto.EXTERNAL)


def axis_of(node: Any) -> int:
    return next((int(a.i) for a in node.attribute if a.name == "axis"), 0)


def share_tied_tables(pairs: dict[str, str], quantized: Any) -> list[str]:
    """Rewrite `quantized` (a dynamic int8 ModelProto of the float model whose `tied_pairs`
    are `pairs`) so each tied table's lookup reads the head's int8 weight; the names of the
    tables shared."""
    import numpy as np
    from onnx import numpy_helper

    graph = quantized.graph
    weights = {t.name: t for t in graph.initializer}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced: dict[int, list[Any]] = {}  # id(lookup node) -> its replacement; dequantize -> []
    shared = []
    for table, head in pairs.items():
        head_q, head_scale, head_zero = head + QUANTIZED, head + SCALE, head + ZERO
        lookups = [
            n for n in graph.node if n.op_type == "Gather" and n.input[0] == table + QUANTIZED
        ]
        if head_q not in weights or head_scale not in weights or not lookups:
            continue
        if head_zero in weights and np.any(numpy_helper.to_array(weights[head_zero])):
            continue  # asymmetric head weights: scaling alone would not dequantize them
        after = [consumers.get(lookup.output[0], []) for lookup in lookups]
        if any(len(a) != 1 or a[0].op_type != "DequantizeLinear" for a in after):
            continue
        for lookup, (dequantize,) in zip(lookups, after, strict=True):
            replaced[id(lookup)] = lookup_nodes(lookup, dequantize.output[0], head_q, head_scale)
            replaced[id(dequantize)] = []
        shared.append(table)
    if not shared:
        return []
    nodes = [new for node in graph.node for new in replaced.get(id(node), [node])]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    for name in [t.name for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(weights[name])
    graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), FLAT))
    graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), LAST_AXIS))
    return shared


FLAT, LAST_AXIS = "tied_table_flat_shape", "tied_table_last_axis"


def lookup_nodes(lookup: Any, output: str, weight: str, scale: str) -> list[Any]:
    """The nodes computing `output` = the float rows of `lookup`'s ids, from the head's int8
    [hidden, vocab] `weight` and its per-entry `scale`: ids flattened, columns gathered and
    transposed to rows, cast and scaled, then shaped [*ids, hidden]."""
    from onnx import TensorProto, helper

    ids, base = lookup.input[1], lookup.name or lookup.output[0]
    steps: list[tuple[str, list[str], str, dict[str, Any]]] = [
        ("Reshape", [ids, FLAT], "@ids", {}),
        ("Gather", [weight, "@ids"], "@columns", {"axis": 1}),
        ("Transpose", ["@columns"], "@rows", {"perm": [1, 0]}),
        ("Cast", ["@rows"], "@float_rows", {"to": TensorProto.FLOAT}),
        ("Gather", [scale, "@ids"], "@scales", {"axis": 0}),
        ("Unsqueeze", ["@scales", LAST_AXIS], "@row_scales", {}),
        ("Mul", ["@float_rows", "@row_scales"], "@flat", {}),
        ("Shape", [ids], "@ids_shape", {}),
        ("Shape", [weight], "@hidden", {"start": 0, "end": 1}),
        ("Concat", ["@ids_shape", "@hidden"], "@shape", {"axis": 0}),
        ("Reshape", ["@flat", "@shape"], output, {}),
    ]

    def named(value: str) -> str:  # "@name": a value of these nodes' own
        return f"{base}/tied_{value[1:]}" if value.startswith("@") else value

    nodes = [
        helper.make_node(
            op, [named(i) for i in inputs], [named(out)], name=named(out) + "_op", **attrs
        )
        for op, inputs, out, attrs in steps
    ]
    nodes[1].name = lookup.name  # still the model's lookup: reports and the fallback name it
    return nodes
