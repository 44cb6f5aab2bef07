"""Files from strangers, opened by every accel command that opens files: each crafted file
would run code (the payload creates a marker file), and each command refuses it in one line.

The payloads are real: `os.system("touch MARKER")` behind a `_target_`, a pickle `__reduce__`,
a `.pt2` member that torch unpickles, a YAML tag. The same files with the trust flag (where
the flag exists for that file) do run, which shows the refusal is the policy and not a crash.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from accel.cli.main import run
from accel.core.checkpoint import save_checkpoint
from accel.core.registry import build

MODEL = {"name": "resnet20", "in_channels": 1, "num_classes": 10}
DATA = {"name": "digits", "batch_size": 64}


class Payload:
    """Unpickling this runs `touch MARKER`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def system(marker: Path) -> dict[str, str]:
    """A spec that runs `touch MARKER` when built."""
    return {"_target_": "os.system", "command": f"touch {marker}"}


def accel(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`accel ARGV` in this process: (exit code, stderr)."""
    try:
        run(argv)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, marker: Path, *expected: str) -> None:
    assert not marker.exists(), "the file's code ran"
    assert code != 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert "internal error" not in err, err
    for text in expected:
        assert text in err, err


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACCEL_CONFIGS", raising=False)
    monkeypatch.delenv("ACCEL_RUN_DIR", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    return build("models", MODEL).state_dict()


def checkpoint(root: Path, weights: dict[str, torch.Tensor], **config: Any) -> Path:
    """A real accel checkpoint of resnet20 whose stored config is `config`."""
    save_checkpoint(root / "ckpt", "epoch=000-step=0000010", {"model": weights}, config=config)
    return root / "ckpt"


CRAFTED_CHECKPOINTS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "model.spec": lambda m: {"model": system(m), "data": DATA},
    "nested model.spec": lambda m: {"model": {**MODEL, "num_classes": system(m)}, "data": DATA},
    "config.data": lambda m: {"model": MODEL, "data": system(m)},
    "nested config.data": lambda m: {"model": MODEL, "data": {**DATA, "x": [system(m)]}},
}
CHECKPOINT_COMMANDS = [
    ["test", "ckpt={path}"],
    ["analyze-model", "ckpt={path}"],
    ["compress", "{path}", "--quantize", "int8"],
    ["compress", "analyze", "{path}"],
]


def argv(template: list[str], path: Path) -> list[str]:
    return [part.format(path=path) for part in template]


@pytest.mark.parametrize("command", CHECKPOINT_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("craft", list(CRAFTED_CHECKPOINTS))
def test_a_crafted_checkpoint_runs_nothing(
    here: Path, weights: dict[str, torch.Tensor], craft: str, command: list[str], capsys: Any
) -> None:
    marker = here / "pwned"
    path = checkpoint(here, weights, **CRAFTED_CHECKPOINTS[craft](marker))
    code, err = accel(argv(command, path), capsys)
    if craft.endswith("config.data") and command[0] in ("test", "analyze-model"):
        # these commands take data from the user's config, not from the checkpoint
        assert not marker.exists()
        return
    assert_refused(code, err, marker, "_target_", "--trust-file")


def test_resuming_training_from_a_crafted_checkpoint_runs_nothing(
    here: Path, weights: dict[str, torch.Tensor], capsys: Any
) -> None:
    marker = here / "pwned"
    path = checkpoint(here, weights, model=system(marker), data=system(marker))
    code, err = accel(["train", f"resume={path}", "trainer.max_epochs=1"], capsys)
    assert_refused(code, err, marker, "cannot resume a fit")


def test_with_the_trust_flag_the_checkpoints_code_does_run(
    here: Path, weights: dict[str, torch.Tensor], capsys: Any
) -> None:
    marker = here / "pwned"
    path = checkpoint(here, weights, model=system(marker), data=DATA)
    accel(["compress", "analyze", str(path), "--trust-file"], capsys)
    assert marker.exists()  # the refusal above is the policy, not an accident


def pickled(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save(Payload(marker), buffer)
    return buffer.getvalue()


def export_program(path: Path) -> Path:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).eval()
    batch = torch.export.Dim("batch", min=1, max=256)
    program = torch.export.export(model, (torch.randn(2, 1, 8, 8),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return path


def rewrite(source: Path, target: Path, edits: dict[str, Callable[[bytes], bytes]]) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            for suffix, edit in edits.items():
                if info.filename.endswith(suffix):
                    data = edit(data)
            zout.writestr(info, data)
    return target


def use_pickle(data: bytes) -> bytes:
    config = json.loads(data)
    first = next(iter(config["config"]))
    config["config"][first]["use_pickle"] = True
    return json.dumps(config).encode()


def pt2_sample_inputs(root: Path, marker: Path) -> Path:
    edits = {"data/sample_inputs/model.pt": lambda _: pickled(marker)}
    return rewrite(export_program(root / "good.pt2"), root / "model.pt2", edits)


def pt2_renamed(root: Path, marker: Path) -> Path:
    return pt2_sample_inputs(root, marker).rename(root / "model.pt")


def pt2_pickled_weight(root: Path, marker: Path) -> Path:
    edits = {"_weights_config.json": use_pickle, "data/weights/weight_0": lambda _: pickled(marker)}
    return rewrite(export_program(root / "good.pt2"), root / "model.pt2", edits)


def full_pickle(root: Path, marker: Path) -> Path:
    path = root / "model.pt"
    path.write_bytes(pickle.dumps(Payload(marker)))
    return path


def torch_zip_pickle(root: Path, marker: Path) -> Path:
    path = root / "model.pt"
    torch.save({"model": Payload(marker)}, path)
    return path


def torchscript_lookalike(root: Path, marker: Path) -> Path:
    """A zip laid out like TorchScript whose data.pkl is a payload."""
    path = root / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", pickle.dumps(Payload(marker)))
        archive.writestr("model/constants.pkl", pickle.dumps(Payload(marker)))
        archive.writestr("model/code/__torch__.py", "def forward(self, x):\n    return x\n")
        archive.writestr("model/version", "3\n")
    return path


def pruned_spec(root: Path, marker: Path) -> Path:
    folder = root / "pruned"
    folder.mkdir()
    spec = {"format": "accel-pruned/1", "arch": system(marker), "layers": {}, "shapes": {}}
    (folder / "channels.json").write_text(json.dumps(spec))
    (folder / "weights.safetensors").write_bytes(b"")
    return folder


CRAFTED_MODEL_FILES: dict[str, Callable[[Path, Path], Path]] = {
    "full pickle": full_pickle,
    "torch.save zip with a payload": torch_zip_pickle,
    "pt2 pickled sample inputs": pt2_sample_inputs,
    "pt2 named .pt": pt2_renamed,
    "pt2 use_pickle weight": pt2_pickled_weight,
    "TorchScript look-alike": torchscript_lookalike,
    "pruned spec arch": pruned_spec,
}
MODEL_FILE_COMMANDS = [
    ["compress", "{path}", "--quantize", "int8", "--input-shape", "1,1,8,8"],
    ["compress", "analyze", "{path}", "--input-shape", "1,1,8,8"],
]


@pytest.mark.parametrize("command", MODEL_FILE_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("craft", list(CRAFTED_MODEL_FILES))
def test_a_crafted_model_file_runs_nothing(
    here: Path, craft: str, command: list[str], capsys: Any
) -> None:
    marker = here / "pwned"
    path = CRAFTED_MODEL_FILES[craft](here, marker)
    code, err = accel(argv(command, path), capsys)
    assert_refused(code, err, marker)
    assert not (here / "compressed").exists()


RECIPES = {
    "a _target_ pass": lambda m: yaml.safe_dump({"passes": [system(m)]}),
    "a python tag": lambda m: f"passes: !!python/object/apply:os.system ['touch {m}']\n",
    "a nested _target_": lambda m: yaml.safe_dump(
        {"passes": [{"name": "prune", "ratio": 0.5, "importance": system(m)}]}
    ),
}


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_a_crafted_recipe_runs_nothing(here: Path, recipe: str, capsys: Any) -> None:
    marker = here / "pwned"
    path = export_program(here / "model.pt2")
    (here / "recipe.yaml").write_text(RECIPES[recipe](marker))
    code, err = accel(["compress", str(path), "--recipe", "recipe.yaml"], capsys)
    assert_refused(code, err, marker, "recipe.yaml")


def pipeline_run_dir(root: Path, config: dict[str, Any]) -> Path:
    run_dir = root / "runs" / "2026-01-01" / "00-00-00"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_dir


def pipeline_config(**parts: Any) -> dict[str, Any]:
    steps = [{"name": "train", "kind": "train"}, {"name": "evaluate", "kind": "evaluate"}]
    config = {
        "model": MODEL,
        "data": DATA,
        "optimizer": {"name": "sgd", "lr": 0.1},
        "loss": {"name": "cross_entropy"},
        "trainer": {"max_epochs": 1, "run_dir": "."},
        "pipeline": {"steps": steps},
    }
    config.update(parts)
    return config


CRAFTED_PIPELINES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "model": lambda m: pipeline_config(model=system(m)),
    "data": lambda m: pipeline_config(data=system(m)),
    "optimizer": lambda m: pipeline_config(optimizer=system(m)),
    "callbacks": lambda m: pipeline_config(callbacks={"evil": system(m)}),
    "tracker": lambda m: pipeline_config(tracker=system(m)),
    "a step": lambda m: pipeline_config(
        pipeline={"steps": [{"name": "train", "kind": "train", "model": system(m)}]}
    ),
}


@pytest.mark.parametrize("craft", list(CRAFTED_PIPELINES))
def test_resuming_a_crafted_pipeline_run_dir_runs_nothing(
    here: Path, craft: str, capsys: Any
) -> None:
    marker = here / "pwned"
    run_dir = pipeline_run_dir(here, CRAFTED_PIPELINES[craft](marker))
    code, err = accel(["pipeline", "run", "--resume", str(run_dir)], capsys)
    assert_refused(code, err, marker, "config.yaml", "_target_")


def test_a_pipeline_step_named_to_escape_deletes_nothing(here: Path, capsys: Any) -> None:
    victim = here / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    escape = "x" + "/.." * 5 + "/victim"  # steps/00-x/../../../../../victim is here/victim
    steps = [{"name": escape, "kind": "train"}]
    run_dir = pipeline_run_dir(here, pipeline_config(pipeline={"steps": steps}))
    (run_dir / "steps" / "00-x").mkdir(parents=True)
    assert (run_dir / "steps" / f"00-{escape}").resolve() == victim.resolve()
    code, err = accel(["pipeline", "run", "--resume", str(run_dir)], capsys)
    assert (victim / "precious.txt").read_text() == "keep me"
    assert_refused(code, err, here / "no-marker", "pipeline.steps[0].name")
