"""`quantize`: int8 through ONNX Runtime (static QDQ or dynamic Linear-only), OpenVINO + NNCF,
PT2E or torchao.

Which path, and why (measured on this kind of CPU, see TOOLCHAIN-FACTS): ORT static QDQ with
per-channel weights is fast on conv nets; ORT dynamic int8 is only fast for MatMul/Gemm (its
ConvInteger is 5-10x slower than fp32), so dynamic mode never touches convolutions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from torch import nn

from accel.compress.analysis import onnx_param_count
from accel.compress.artifacts import OnnxModel, OpenVinoModel
from accel.compress.extras import ONNX, missing, need
from accel.compress.options import BACKENDS, INT8_MODES, int8_mode
from accel.compress.passes.export import export_onnx
from accel.compress.passes.fallback import Layer, Measured, search
from accel.compress.passes.parity import parity_inputs, record_parity
from accel.compress.passes.quantize_openvino import FEATURE, quantize_openvino
from accel.compress.passes.quantize_ort import CALIBRATIONS, OrtInt8, count_ops, saturates
from accel.compress.passes.quantize_torch import quantize_pt2e, quantize_torchao
from accel.compress.verify import TOLERANCES, compare_outputs, within_drop
from accel.core.errors import ConfigError
from accel.core.passes import PassContext, PassReport

FLOAT_OPS = ("Conv", "ConvTranspose")


class Quantize:
    """int8 quantization for the target runtime.

    - `backend="ort"`: the model becomes (or is) ONNX; `mode="static"` calibrates on real data
      (QDQ, per-channel weights), `mode="dynamic"` quantizes MatMul/Gemm and embeddings,
      `mode="auto"` picks static when calibration data is given, else dynamic (convolutions
      stay float): the choice is `accel.compress.options.int8_mode`'s, the one place that
      makes it.
    - `backend="openvino"`: NNCF int8 of the ONNX model on the calibration data, an OpenVINO
      IR (`model.xml`) run by OpenVINO's CPU plugin (`accel.compress.passes.quantize_openvino`).
    - `backend="pt2e"`: `torch.export` + X86InductorQuantizer (static, calibrated) + torch.compile.
    - `backend="torchao"`: int8 dynamic activations and weights for `nn.Linear` (+ torch.compile);
      `bits=4`: int4 weight-only, on a CUDA GPU only (no CPU gain, see TOOLCHAIN-FACTS).

    With ONNX Runtime, an int8 model that breaks its output tolerance (or, given `max_drop` and
    evaluation data, its accuracy budget) is repaired unless `fallback=False`: the layers whose
    quantization costs the most are kept in float until the result meets the budget
    (`accel.compress.passes.fallback`); the report lists them. The speed gate then keeps the
    mixed model only if it is still faster than the step before it. With `choose` (no
    backend named on the command line), the other int8 candidates that apply are tried and
    the fastest within the budget is kept (`_choose`).
    """

    def __init__(
        self,
        backend: str = "ort",
        mode: str = "auto",
        *,
        calib_batches: int = 16,
        compile: bool = True,
        tolerance: float | None = None,
        bits: int = 8,
        fallback: bool = True,
        max_drop: float | None = None,
        calibration: str = "auto",
        choose: bool = False,
    ) -> None:
        if bits not in (4, 8):
            raise ConfigError(f"quantize: bits must be 8 or 4 (weight-only, GPU), got {bits}")
        if bits == 4 and backend != "torchao":
            raise ConfigError("quantize: int4 is torchao weight-only: use backend 'torchao'")
        self.bits = bits
        if backend not in BACKENDS:
            raise ConfigError(f"quantize: backend {backend!r} is not one of {', '.join(BACKENDS)}")
        if mode not in INT8_MODES:
            raise ConfigError(f"quantize: mode {mode!r} is not one of {', '.join(INT8_MODES)}")
        self.backend, self.mode, self.calib_batches = backend, mode, calib_batches
        self.compile, self.tolerance = compile, tolerance
        self.fallback, self.max_drop = fallback, max_drop
        if calibration != "auto" and calibration not in CALIBRATIONS:
            choices = ", ".join(["auto", *CALIBRATIONS])
            raise ConfigError(f"quantize: calibration {calibration!r} is not one of {choices}")
        if backend == "openvino" and calibration != "auto":
            raise ConfigError("quantize: calibration methods are ONNX Runtime's: use backend 'ort'")
        self.calibration, self.choose = calibration, choose
        need_backend(backend)

    def __call__(self, artifact: Any, context: PassContext) -> Any:
        if (  # a torch target, no backend named, no data: int8 that needs none, if it applies
            self.backend == "pt2e"
            and self.choose
            and context.calib_data is None
            and isinstance(artifact, nn.Module)
            and linear_modules_only(artifact)
        ):
            why = "no calibration data: torchao int8 dynamic (Linear layers; PT2E is static)"
            return self._torchao(artifact, context, why)
        mode = int8_mode(self.mode, self.backend, context.calib_data is not None)
        if self.backend == "ort":
            return self._ort(artifact, context, mode)
        if self.backend == "openvino":
            return self._openvino(artifact, context)
        if not isinstance(artifact, nn.Module):
            raise ConfigError(
                f"quantize backend {self.backend!r} works on a torch model, "
                f"got {type(artifact).__name__}: use backend 'ort' for ONNX files"
            )
        if self.backend == "pt2e":
            return self._pt2e(artifact, context, mode)
        return self._torchao(artifact, context)

    def _ort(self, artifact: Any, context: PassContext, mode: str) -> OnnxModel:
        report = context.record("quantize", backend="ort", mode=mode)
        source = self._onnx_source(artifact, context, report, "ONNX Runtime quantizes")
        first = "minmax" if self.calibration == "auto" else self.calibration
        quantizer = self._quantizer(source, context, mode, first)
        output = quantizer.quantize(context.workdir() / "model.int8.onnx")
        report.metrics["weight_bits"] = 7 if quantizer.reduce_range else 8
        if quantizer.reduce_range:
            report.notes.append(
                "7-bit int8 weights: this CPU has no VNNI, and its int8 kernels saturate "
                "with full 8-bit weights (ONNX Runtime's reduce_range)"
            )
        if mode != "static":
            note_float_ops(report, output)
        quantized = OnnxModel(output, dict(source.meta))
        if self.fallback:
            error, collapsed = compare_outputs(artifact, quantized, parity_inputs(context))
            if not self.within(error, collapsed, quantized, context):
                if mode == "static" and self.calibration == "auto":
                    quantizer, error, collapsed = self._calibrate_again(
                        report, artifact, source, quantizer, error, collapsed, context
                    )
                if not self.within(error, collapsed, quantized, context):
                    quantized = self._fall_back(report, artifact, quantizer, output, error, context)
        chosen: Any = quantized
        if self.choose and mode == "static":
            absent = missing("openvino", FEATURE) if context.target == "x86" else None
            if absent is not None:
                report.notes.append(f"int8 candidate {OPENVINO} not tried: {absent}")
            challengers = self._challengers(artifact, source, context)
            chosen = self._choose(report, artifact, (STATIC, quantized), challengers, context)
        return self._finish(report, artifact, chosen, context)

    def _choose(
        self,
        report: PassReport,
        before: Any,
        first: tuple[str, Any],
        challengers: list[Challenger],
        context: PassContext,
    ) -> Any:
        """With no backend named, the first result (ORT static QDQ, calibrated and repaired by
        fallback, or PT2E for a torch target) is one int8 candidate among those that apply
        here (`_challengers`, `_torch_challengers`). Each is checked against the budget; the
        fastest that meets it, each challenger timed side by side against the best so far at
        the timing batch, replaces the first only when measured faster (by `CHOOSE_MARGIN`) on
        a reliable comparison. A first result over the budget is replaced by the first
        challenger that meets it, whatever its speed. The report lists every candidate's
        error and time."""
        from accel.compress.analysis import compare_latency
        from accel.compress.signature import batch_of

        inputs = parity_inputs(context)
        size = int(context.options.get("timing_batch", 32))
        timing_inputs = batch_of(context.example_inputs, size)
        first_name, best = first
        best_name, chosen_metrics = first_name, {}
        first_error, first_collapsed = compare_outputs(before, best, inputs)
        best_within = self.within(first_error, first_collapsed, best, context)
        rows: list[dict[str, Any]] = [
            {"candidate": first_name, "output_error": first_error, "ms": None, "batch": size,
             "within_budget": best_within}
        ]  # fmt: skip
        notes = [] if best_within else [f"{first_name}: error {first_error:.3g} over the budget"]
        for name, build, metrics in challengers:
            try:
                candidate, error, collapsed = build()
            except Exception as failed:  # a toolchain that cannot take this model: say so
                notes.append(f"{name} skipped ({type(failed).__name__}: {first_line(failed)})")
                continue
            within = self.within(error, collapsed, candidate, context)
            row = {"candidate": name, "output_error": error, "ms": None, "batch": size,
                   "within_budget": within}  # fmt: skip
            rows.append(row)
            if not within:
                notes.append(f"{name}: error {error:.3g} over the budget")
                continue
            if not best_within:  # any result within the budget beats one that breaks it
                notes.append(f"{name}: error {error:.3g}, within the budget")
                best, best_name, best_within, chosen_metrics = candidate, name, True, metrics
                continue
            compared = compare_latency(best, candidate, timing_inputs)
            previous = next(r for r in rows if r["candidate"] == best_name)
            if previous["ms"] is None:
                previous["ms"] = compared["before_ms"]
            row["ms"] = compared["after_ms"]
            reliable = compared.get("reliable", True)
            verdict = f"{compared['speedup']:.2f}x {best_name}'s speed"
            if not reliable:
                verdict += f" (timings unreliable: {compared['why']})"
            notes.append(f"{name}: error {error:.3g}, {verdict}")
            if not reliable or report.metrics.get("int8_comparison", {}).get("reliable", True):
                report.metrics["int8_comparison"] = compared  # the latest, or one unreliable
            if reliable and compared["speedup"] > CHOOSE_MARGIN:
                best, best_name, chosen_metrics = candidate, name, metrics
        if len(rows) == 1:
            if notes:  # a challenger that could not be built: say which, and why
                report.notes.append(f"int8 candidates: {'; '.join(notes)}: kept {first_name}")
            return best
        report.metrics["int8_candidates"] = rows
        report.metrics["int8_chosen"] = best_name
        report.metrics.update(chosen_metrics)  # how the chosen one runs, when not the first
        report.notes.append(
            f"int8 candidates at batch {size}: {'; '.join(notes)}: chose {best_name}"
        )
        return best

    def _challengers(
        self, before: Any, source: OnnxModel, context: PassContext
    ) -> list[Challenger]:
        """The int8 candidates besides static QDQ that apply to `source` here, each with a
        function that builds it and returns it with its output error (and collapse)."""
        meta, work = dict(source.meta), context.workdir()
        found: list[Challenger] = []
        if linear_only(source.path):

            def dynamic() -> tuple[OnnxModel, float, Any]:
                quantizer = OrtInt8(
                    source.path, work / "int8" / "dynamic", mode="dynamic", target=context.target
                )
                model = OnnxModel(quantizer.quantize(work / "model.int8.dynamic.onnx"), meta)
                return (model, *compare_outputs(before, model, parity_inputs(context)))

            found.append(Challenger(DYNAMIC, dynamic, {"mode": "dynamic"}))
        if context.target == "x86" and missing("openvino", FEATURE) is None:
            found.append(
                Challenger(
                    OPENVINO,
                    lambda: self._openvino_checked(before, source, context),
                    {"mode": "static", "runtime": "openvino"},
                )
            )
        return found

    def _torch_challengers(
        self, model: nn.Module, context: PassContext, report: PassReport
    ) -> list[Challenger]:
        """For a torch target, besides PT2E: torchao int8 dynamic for a model whose weighted
        layers are all `nn.Linear` (it quantizes nothing else). Compiled, not on a CPU whose
        int8 kernels saturate: once PT2E's x86 passes are registered (they are global to the
        process), inductor lowers torchao's int8 Linear to the same kernels, with 8-bit
        activations (a digits MLP: output error 0.20, eager 0.004)."""
        if not linear_modules_only(model):
            return []
        if self.compile and saturates(context.target):
            report.notes.append(
                f"int8 candidate {TORCHAO} not tried: this CPU has no VNNI, and compiled "
                "after PT2E its 8-bit activations saturate the int8 kernels"
            )
            return []

        def dynamic() -> tuple[nn.Module, float, Any]:
            quantized = quantize_torchao(copy.deepcopy(model), self.compile, self.bits)
            return (quantized, *compare_outputs(model, quantized, parity_inputs(context)))

        return [Challenger(TORCHAO, dynamic, {"backend": "torchao", "mode": "dynamic"})]

    def _openvino(self, artifact: Any, context: PassContext) -> OpenVinoModel:
        report = context.record("quantize", backend="openvino", mode="static")
        source = self._onnx_source(artifact, context, report, "OpenVINO converts")
        quantized = self._openvino_checked(artifact, source, context, report)[0]
        return self._finish(report, artifact, quantized, context)

    def _openvino_checked(
        self,
        before: Any,
        source: OnnxModel,
        context: PassContext,
        report: PassReport | None = None,
    ) -> tuple[OpenVinoModel, float, Any]:
        """NNCF int8 of `source` with NNCF's defaults; over the budget, once more with plain
        min/max ranges and no bias correction, the smaller error kept. Returns the model, its
        output error and collapse."""
        inputs = parity_inputs(context)
        model = self._openvino_model(source, context, plain=False)
        error, collapsed = compare_outputs(before, model, inputs)
        if self.within(error, collapsed, model, context) or not self.fallback:
            return model, error, collapsed
        plain = self._openvino_model(source, context, plain=True)
        found, broken = compare_outputs(before, plain, inputs)
        if report is not None:
            report.notes.append(
                f"OpenVINO int8: NNCF's defaults gave output error {error:.3g}; min/max ranges "
                f"without bias correction give {found:.3g}"
            )
        if broken is None and (collapsed is not None or found < error):
            return plain, found, broken
        return model, error, collapsed

    def _openvino_model(
        self, source: OnnxModel, context: PassContext, *, plain: bool
    ) -> OpenVinoModel:
        """NNCF int8 of `source` on the calibration data, as an IR in the work folder."""
        ops = count_ops(source.path)
        path = quantize_openvino(
            source.path,
            context.workdir() / f"model.int8{'.plain' if plain else ''}.xml",
            context.calib_data,
            limit=self.calib_batches,
            transformer=any(op in ops for op in ("Attention", "Softmax")),
            target=context.target,
            plain=plain,
        )
        return OpenVinoModel(path, {**source.meta, "params": onnx_param_count(source.path)})

    def _onnx_source(
        self, artifact: Any, context: PassContext, report: PassReport, who: str
    ) -> OnnxModel:
        """The ONNX model to quantize: `artifact` itself, or a torch model exported first."""
        if isinstance(artifact, nn.Module):
            path = context.workdir() / "model.fp32.onnx"
            signature = context.options.get("signature")
            report.notes.append(f"exported to ONNX first ({who} ONNX models)")
            return OnnxModel(export_onnx(artifact, context.example_inputs, path, 18, signature))
        if not isinstance(artifact, OnnxModel):
            raise ConfigError(
                f"quantize: cannot quantize a {type(artifact).__name__} with {self.backend}"
            )
        return artifact

    def _quantizer(self, source: OnnxModel, context: PassContext, mode: str, how: str) -> OrtInt8:
        return OrtInt8(
            source.path,
            context.workdir() / "int8" / how,
            mode=mode,
            data=context.calib_data,
            target=context.target,
            limit=self.calib_batches,
            calibration=how,
        )

    def within(self, error: float, collapsed: Any, quantized: Any, context: PassContext) -> bool:
        """Whether a quantized model meets the output tolerance and the accuracy budget."""
        if collapsed or error > self.limit():
            return False
        return self.accuracy_within(quantized, context)[1]

    def _calibrate_again(
        self,
        report: PassReport,
        before: Any,
        source: OnnxModel,
        quantizer: OrtInt8,
        error: float,
        collapsed: Any,
        context: PassContext,
    ) -> tuple[OrtInt8, float, Any]:
        """Static int8 over its budget with min/max ranges: try the calibrations that clip
        outliers (percentile, entropy) and keep the one with the smallest output error, in
        `model.int8.onnx`. Every candidate's error goes in the report."""
        inputs = parity_inputs(context)
        output = context.workdir() / "model.int8.onnx"
        tried = [{"calibration": "minmax", "output_error": error}]
        best = (quantizer, error, collapsed)
        for how in ("percentile", "entropy"):
            candidate = self._quantizer(source, context, "static", how)
            path = candidate.quantize(context.workdir() / f"model.int8.{how}.onnx")
            found, broken = compare_outputs(before, OnnxModel(path, dict(source.meta)), inputs)
            tried.append({"calibration": how, "output_error": found})
            if broken is None and (best[2] is not None or found < best[1]):
                best = (candidate, found, broken)
                path.replace(output)
        report.metrics["calibrations"] = tried
        report.metrics["calibration"] = best[0].calibration
        if best[0] is not quantizer:
            report.notes.append(
                f"calibration: min/max ranges gave output error {error:.3g}; "
                f"{best[0].calibration} ranges give {best[1]:.3g}"
            )
        return best

    def accuracy_within(self, quantized: Any, context: PassContext) -> tuple[float | None, bool]:
        baseline = context.options.get("baseline_accuracy")
        if self.max_drop is None or context.evaluate is None or baseline is None:
            return None, True
        value = context.evaluate(quantized)
        return value, within_drop(float(baseline), value, self.max_drop)

    def limit(self) -> float:
        return TOLERANCES["quantize"] if self.tolerance is None else self.tolerance

    def _fall_back(
        self,
        report: PassReport,
        before: Any,
        quantizer: OrtInt8,
        full: Path,
        error: float,
        context: PassContext,
    ) -> OnnxModel:
        """Keep the most sensitive layers in float until the result meets the budget; the
        all-int8 model stays the result (and its broken tolerance the report's) if no set
        within the search's bounds does."""
        inputs = parity_inputs(context)
        layers = quantizer.layers(full)
        work = context.workdir() / "int8"
        meta = dict(getattr(before, "meta", {}) or {})

        def probe(layer: Layer) -> float:
            path = quantizer.quantize(work / "probe.onnx", only=[layer.node])
            return compare_outputs(before, OnnxModel(path, meta), inputs)[0]

        def trial(chosen: list[Layer]) -> Measured:
            path = work / f"float-{len(chosen)}.onnx"
            quantizer.quantize(path, exclude=[layer.node for layer in chosen])
            candidate = OnnxModel(path, meta)
            trial_error, collapsed = compare_outputs(before, candidate, inputs)
            within = collapsed is None and trial_error <= self.limit()
            accuracy = None
            if within:
                accuracy, within = self.accuracy_within(candidate, context)
            return Measured(candidate, trial_error, within, accuracy)

        found = search(layers, error, probe, trial, self.limit())
        report.metrics["fallback"] = found.as_dict()
        if not found.met:
            tried = found.trials[-1]
            report.notes.append(
                f"float fallback: no set of layers met the budget (with {tried.layers} of "
                f"{len(layers)} layers in float the output error is {tried.error:.3g}): "
                "the all-int8 result stands"
            )
            return OnnxModel(full, meta)
        Path(found.result.path).replace(full)  # the mixed model takes the all-int8 file's place
        int8_now = set(quantizer.int8_layers(full))
        report.metrics["float_layers"] = [x.node for x, _ in found.layers if x.node not in int8_now]
        names = ", ".join(f"{layer.node} ({layer.op})" for layer, _ in found.layers[:6])
        more = "" if len(found.layers) <= 6 else f" and {len(found.layers) - 6} more"
        report.notes.append(
            f"float fallback: all-int8 output error {error:.3g}; {len(found.layers)} of "
            f"{len(layers)} layers kept in float ({names}{more}) -> {found.trials[-1].error:.3g}"
        )
        return OnnxModel(full, meta)

    def _pt2e(self, model: nn.Module, context: PassContext, mode: str) -> nn.Module:
        report = context.record("quantize", backend="pt2e", mode="static")
        reduce_range = saturates(context.target)
        quantized = quantize_pt2e(
            model,
            context.example_inputs,
            context.calib_data,
            self.calib_batches,
            self.compile,
            context.options.get("signature"),
            reduce_range=reduce_range,
        )
        report.metrics["activation_bits"] = 7 if reduce_range else 8
        if reduce_range:
            report.notes.append(
                "7-bit int8 activations: this CPU has no VNNI, and inductor's int8 kernels "
                "saturate with full 8-bit activations"
            )
        if self.choose:
            first = (PT2E, quantized)
            quantized = self._choose(
                report, model, first, self._torch_challengers(model, context, report), context
            )
        return self._finish(report, model, quantized, context)

    def _torchao(self, model: nn.Module, context: PassContext, why: str | None = None) -> Any:
        report = context.record("quantize", backend="torchao", mode="dynamic", bits=self.bits)
        if why:
            report.notes.append(why)
        quantized = quantize_torchao(copy.deepcopy(model), self.compile, self.bits)
        report.metrics["quantized_linear"] = sum(isinstance(m, nn.Linear) for m in model.modules())
        return self._finish(report, model, quantized, context)

    def _finish(self, report: PassReport, before: Any, after: Any, context: PassContext) -> Any:
        record_parity(report, before, after, context, self.tolerance)
        return after


CHOOSE_MARGIN = 1.05  # a candidate must be this much faster than the best so far to replace it
STATIC, DYNAMIC, OPENVINO = "ORT static QDQ", "ORT dynamic MatMul/Gemm", "OpenVINO + NNCF"
PT2E, TORCHAO = "PT2E static", "torchao int8 dynamic"
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)


class Challenger(NamedTuple):
    """An int8 candidate besides the first: its name, a function that builds it and returns
    (model, output error, collapse), and the report metrics that say how it runs if chosen."""

    name: str
    build: Callable[[], tuple[Any, float, Any]]
    metrics: dict[str, Any]


def linear_modules_only(model: nn.Module) -> bool:
    """Whether a torch model has `nn.Linear` layers and no convolution: the models torchao's
    int8 dynamic quantizes whole."""
    modules = list(model.modules())
    return any(isinstance(m, nn.Linear) for m in modules) and not any(
        isinstance(m, CONVS) for m in modules
    )


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


def linear_only(path: Path) -> bool:
    """Whether an ONNX model's weighted layers are MatMul/Gemm only (no convolution): the
    models for which dynamic int8 is a real alternative to static."""
    ops = count_ops(path)
    return not any(op in ops for op in FLOAT_OPS) and any(op in ops for op in ("MatMul", "Gemm"))


def need_backend(backend: str) -> None:
    """The extra a backend runs on is installed (checked when the pass is built: before work)."""
    if backend == "ort":
        need("ort", ONNX)
    elif backend == "openvino":
        need("ort", ONNX)  # the model is exported to ONNX, then converted
        need("openvino", FEATURE)
    else:
        need("torchao", "PT2E int8" if backend == "pt2e" else "torchao quantization")


def note_float_ops(report: PassReport, path: Any) -> None:
    """Say in the report which layers dynamic int8 left in float, and how to quantize them."""
    ops = count_ops(path)
    left = {op: n for op, n in ops.items() if op in FLOAT_OPS}
    report.metrics["quantized_ops"] = {k: v for k, v in ops.items() if "Integer" in k}
    tables = int8_tables(path)
    if tables:
        report.metrics["quantized_embeddings"] = tables
    if left:
        kept = ", ".join(f"{n} {op}" for op, n in left.items())
        report.metrics["float_ops"] = left
        report.notes.append(
            f"no calibration data: {kept} layer(s) kept in float (dynamic int8 covers "
            "MatMul/Gemm and embeddings only); pass --calib-data NAME|PATH to quantize them "
            "statically"
        )


def int8_tables(path: Any) -> int:
    """Embedding lookups (Gather) whose table a dynamic int8 model stores in 8 bits."""
    import onnx

    from accel.compress.passes.quantize_ort import int8_lookups

    return len(int8_lookups(onnx.load(str(path), load_external_data=False).graph))
