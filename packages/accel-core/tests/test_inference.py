"""One runner for torch modules, `.pt2` programs and ONNX files: the same outputs from each."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from accel.core.inference import (
    OnnxPredictor,
    archive_kind,
    first_tensor,
    onnx_session,
    predictor,
    to_numpy,
)


class TwoInputs(nn.Module):
    """Token ids (int64) and a float mask: the signature of a text encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.embed(ids) * mask.unsqueeze(-1)
        return hidden.sum(1), hidden


def test_a_module_with_several_inputs_runs_and_gives_its_main_output() -> None:
    model = TwoInputs().eval()
    ids, mask = torch.tensor([[1, 2, 3]]), torch.tensor([[1.0, 1.0, 0.0]])
    out = predictor(model)((ids, mask))
    assert torch.equal(out, model(ids, mask)[0])
    assert not out.requires_grad


def test_a_pt2_program_runs_like_its_module(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 2)).eval()
    x = torch.randn(4, 3)
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (x,)), str(path))
    assert torch.allclose(predictor(path)(x), model(x))


def test_an_onnx_file_runs_like_its_module(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = nn.Sequential(nn.Linear(3, 2)).eval()
    x = torch.randn(4, 3)
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=True)
    assert torch.allclose(predictor(path, threads=1)(x), model(x), atol=1e-5)
    with pytest.raises(ValueError, match=r"takes 1 inputs"):
        predictor(path)((x, x))


def test_integer_inputs_keep_their_dtype_and_floats_become_float32() -> None:
    assert to_numpy(torch.tensor([1, 2])).dtype.name == "int64"
    assert to_numpy(torch.tensor([1.0], dtype=torch.float64)).dtype.name == "float32"
    assert to_numpy(torch.tensor([True])).dtype.name == "bool"


def test_first_tensor_unwraps_dicts_and_tuples_and_refuses_others() -> None:
    t = torch.ones(1)
    assert first_tensor({"logits": (t, None)}) is t
    with pytest.raises(TypeError, match="returned a str"):
        first_tensor("no")
    with pytest.raises(ValueError, match=r"expected an \.onnx, \.pt2 or \.xml file"):
        predictor("model.bin")


def test_a_program_returning_a_transformers_output_opens_in_a_fresh_process(
    tmp_path: Path,
) -> None:
    """torch.export.load rebuilds a `BaseModelOutput` only when its class is registered, which
    importing transformers does: `open_program` imports it (installed library code only)."""
    import subprocess
    import sys

    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32)  # fmt: skip
    ids = torch.randint(0, 50, (2, 8))
    program = torch.export.export(transformers.BertModel(config).eval(), (ids,))
    torch.export.save(program, str(tmp_path / "bert.pt2"))
    code = (
        "import sys; from accel.core.inference import predictor; import torch; "
        "out = predictor(sys.argv[1])(torch.zeros(2, 8, dtype=torch.long)); "
        "assert 'transformers' in sys.modules; print(tuple(out.shape))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "bert.pt2")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(2, 8, 16)"


def legacy_onnx(path: Path) -> Path:
    """A small ONNX file from the legacy exporter (no onnxscript needed)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation note
        torch.onnx.export(nn.Linear(3, 2).eval(), (torch.randn(2, 3),), str(path), dynamo=False)
    return path


def test_onnx_session_pins_its_threads_and_can_stop_spinning(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = legacy_onnx(tmp_path / "m.onnx")
    quiet = onnx_session(path, threads=1, spinning=False).get_session_options()
    default = onnx_session(path, threads=2).get_session_options()
    assert (quiet.intra_op_num_threads, default.intra_op_num_threads) == (1, 2)
    assert quiet.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    with pytest.raises(RuntimeError, match="allow_spinning"):  # not set: ORT's default, spinning
        default.get_session_config_entry("session.intra_op.allow_spinning")


def test_an_onnx_predictor_never_spins(tmp_path: Path) -> None:
    """Predictors run alternated with other work (torch, other candidates): a spinning pool
    would steal the cores from whatever runs next and skew every side-by-side timing."""
    pytest.importorskip("onnxruntime")
    run = predictor(legacy_onnx(tmp_path / "m.onnx"), threads=2)
    assert isinstance(run, OnnxPredictor)
    options = run.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 2
    assert run(torch.randn(2, 3)).shape == (2, 2)


def test_an_onnx_session_never_imports_torch(tmp_path: Path) -> None:
    """A server of ONNX files only stays torch-free (seconds of start-up and memory)."""
    import subprocess
    import sys

    pytest.importorskip("onnxruntime")
    path = legacy_onnx(tmp_path / "m.onnx")
    code = (
        "import sys; from accel.core.inference import onnx_session; "
        "s = onnx_session(sys.argv[1], threads=1); print(s.get_inputs()[0].shape, "
        "'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "False"


def test_archive_kind_tells_torchscript_export_and_torch_files_apart(tmp_path: Path) -> None:
    model = nn.Linear(3, 2).eval()
    torch.jit.save(torch.jit.script(model), str(tmp_path / "script.pt"))
    torch.export.save(torch.export.export(model, (torch.randn(1, 3),)), str(tmp_path / "p.pt2"))
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    (tmp_path / "notes.txt").write_text("not a model")
    kinds = {name: archive_kind(tmp_path / name) for name in
             ("script.pt", "p.pt2", "weights.pt", "notes.txt")}  # fmt: skip
    assert kinds == {"script.pt": "torchscript", "p.pt2": "export", "weights.pt": "torch",
                     "notes.txt": "torch"}  # fmt: skip
