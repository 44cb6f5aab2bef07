"""Fuzz-style: malformed overrides, config files, checkpoints, run dirs and `accel add`
requests give a one-line error naming the key or file (and what is valid), a non-zero exit
code, no traceback and no "internal error"; nothing is trained and, where validation stops the
command, no run dir is made. Each case must fail fast (`cli_helpers.CASE_SECONDS`).

Cases by category (counted in `test_at_least_200_cases`): train overrides, project config
files, value ranges, sweeps, nesting, corrupted checkpoints at `accel test` and
`accel analyze-model`, `accel train resume=`, `accel pipeline run` step lists, corrupted run
dirs and state files at `pipeline run --resume`, and `accel add`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import assert_one_line_error, copy_checkpoint, edit_manifest

from accel.cli.main import run

UNKNOWN_KEYS = {
    "optimizer": ["lrr", "momentun", "nesterow", "weight_decy", "betas"],
    "trainer": ["max_epoch", "epochs", "num_devices", "precison", "run_dirs", "gpus"],
    "data": ["batchsize", "seeds", "workers"],
    "model": ["num_class", "in_channel", "depth"],
    "loss": ["smoothing", "weight"],
    "scheduler": ["tmax", "T_maxx", "eta"],
}
BAD_OPTIONS = {
    "model": ["nope", "resnet2O"],
    "data": ["imagenet", "digit"],
    "optimizer": ["sgdd", "adamm"],
    "scheduler": ["cosin"],
    "loss": ["crossentropy"],
    "callbacks": ["many"],
    "trainer": ["slow"],
    "tracker": ["wandb"],
    "compress": ["int4"],
    "pipeline": ["missing"],
}
WRONG_TYPES = [
    ("trainer.max_epochs=abc", "trainer.max_epochs"),
    ("trainer.max_epochs=1.5", "trainer.max_epochs"),
    ("trainer.max_epochs=true", "trainer.max_epochs"),
    ("trainer.max_epochs=0", "trainer.max_epochs"),
    ("trainer.max_epochs=-3", "trainer.max_epochs"),
    ("trainer.max_steps=many", "trainer.max_steps"),
    ("trainer.deterministic=maybe", "trainer.deterministic"),
    ("trainer.deterministic=1", "trainer.deterministic"),
    ("trainer.precision=64", "trainer.precision"),
    ("trainer.device=tpu", "trainer.device"),
    ("trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches"),
    ("trainer.accumulate_grad_batches=two", "trainer.accumulate_grad_batches"),
    ("trainer.clip_grad_norm=-1", "trainer.clip_grad_norm"),
    ("trainer.clip_grad_norm=big", "trainer.clip_grad_norm"),
    ("trainer.compile=yes", "trainer.compile"),
    ("trainer.channels_last=2", "trainer.channels_last"),
    ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps"),
    ("trainer.val_every_n_epochs=x", "trainer.val_every_n_epochs"),
    ("seed=abc", "error: seed: expected int"),
    ("seed=1.5", "seed"),
    ("threads=0", "threads: expected an int >= 1 or null"),
    ("threads=many", "threads"),
    ("optimizer.lr=fast", "optimizer.lr"),
    ("optimizer.lr=true", "optimizer.lr"),
    ("optimizer.momentum=high", "optimizer.momentum"),
    ("optimizer.nesterov=3", "optimizer.nesterov"),
    ("optimizer.weight_decay=[1]", "optimizer.weight_decay"),
    ("data.batch_size=big", "data.batch_size"),
    ("data.batch_size=2.5", "data.batch_size"),
    ("loss.label_smoothing=none", "loss.label_smoothing"),
    ("model.num_classes=ten", "model.num_classes"),
    ("metrics=accuracy", "metrics: expected a list"),
    ("metrics=[3]", "metrics[0]"),
    ("callbacks.checkpoint=3", "callbacks.checkpoint"),
    ("+callbacks.extra={lr: 1}", "callbacks.extra"),
    ("model.name=resnet999", "model.name: no such key"),
    ("optimizer.name=sgdx", "accel.optimizers has no 'sgdx'"),
    ("loss.name=mse2", "loss.name: no such key"),
    ("+model.name=resnet999", "received both name and _target_"),
    ("callbacks.progress.name=progres", "accel.callbacks has no 'progres'"),
    ("scheduler.name=cos", "accel.schedulers has no 'cos'"),
    ("+optimiser.lr=1", "optimiser: unknown top-level key"),
    ("+trainr.max_epochs=1", "trainr: unknown top-level key"),
    ("+trainer.epochs=3", "trainer.epochs: unknown trainer option"),
    ("+model.name=x", "received both name and _target_"),
    ("optimizer.lr=${nope}", "optimizer.lr"),
    ("seed=${trainer.nothing}", "seed"),
    ("optimizer.lr=???", "optimizer.lr"),
]
BAD_SYNTAX = [
    "a.b=[1,2",
    "=3",
    "optimizer.lr=${",
    "optimizer.lr=1)",
    "+=1",
    "optimizer.lr='unclosed",
    "key with space=1",
    "~",
    "optimizer..lr=1",
    "optimizer.lr={a:",
    "optimizer.lr=choice(",
    "trainer.max_epochs=range(1,",
]
OVERRIDE_CASES = (
    [(f"{g}.{k}=1", f"{g}.{k}: no such key") for g, keys in UNKNOWN_KEYS.items() for k in keys]
    + [(f"{g}={o}", f"Could not find '{g}/{o}'") for g, opts in BAD_OPTIONS.items() for o in opts]
    + WRONG_TYPES
    + [(s, "") for s in BAD_SYNTAX]
)

# A main.yaml that keeps the test project's tiny components (so only the broken part is wrong).
TINY = (
    "defaults:\n  - accel\n  - override model: tiny\n  - override data: tiny\n"
    "  - override loss: tiny\n  - _self_\n"
)
FILE_CASES = [
    ("main.yaml", "defaults: [accel\n", "main.yaml"),
    ("main.yaml", "a: b: c\n", "main.yaml"),
    ("main.yaml", "defaults:\n  - accel\n\tseed: 1\n", "main.yaml"),
    ("main.yaml", "seed: [1, 2\n", "main.yaml"),
    ("main.yaml", "key: {unclosed\n", "main.yaml"),
    ("main.yaml", "- just\n- a list\n", "main"),
    ("main.yaml", "defaults:\n  - accel\n  - nope_group: x\n", "nope_group"),
    ("main.yaml", "defaults:\n  - accel\n  - override model: missing\n", "model/missing"),
    ("main.yaml", TINY + "optimiser: {lr: 1}\n", "optimiser"),
    ("main.yaml", TINY + "seed: abc\n", "seed"),
    ("main.yaml", TINY + "trainer: {max_epochs: ten}\n", "max_epochs"),
    ("main.yaml", TINY + "trainer: {epochs: 3}\n", "trainer.epochs"),
    ("main.yaml", TINY + "callbacks: [progress]\n", "In 'main'"),
    ("main.yaml", TINY + "metrics: accuracy\n", "metrics"),
    ("main.yaml", "defaults:\n  - accel\n  - _self_\nmodel: {name: resnet999}\n", "resnet999"),
    ("main.yaml", TINY + "seed: 1\nseed: 2\n", "main.yaml"),
    ("main.yaml", "defaults:\n  - accelx\n", "accelx"),
    ("main.yaml", "defaults: 3\n", "main"),
    ("main.yaml", TINY + "seed: ${nowhere}\n", "seed"),
    ("optimizer/sgd.yaml", "name: sgd\nlr: [0.1\n", "sgd.yaml"),
    ("optimizer/sgd.yaml", "name: sgd\nlr: fast\n", "optimizer.lr"),
    ("optimizer/sgd.yaml", "name: sgdd\nlr: 0.1\n", "sgdd"),
    ("optimizer/sgd.yaml", "lr: 0.1\n", "optimizer: needs 'name'"),
    ("model/tiny.yaml", "_target_: : x\n", "tiny.yaml"),
    ("model/tiny.yaml", "name: resnet20\n_target_: x.Y\n", "received both"),
    ("trainer/default.yaml", "max_epochs: 1\n  bad: 2\n", "default.yaml"),
    ("trainer/default.yaml", "max_epochs: 1\nrun_dir: r\nwarp: 9\n", "trainer.warp"),
    ("data/tiny.yaml", "{{}}\n", "tiny.yaml"),
    ("callbacks/default.yaml", "progress: 3\n", "callbacks.progress"),
    ("scheduler/cosine.yaml", "name: cosine\nT_max: ${trainer.nope}\n", "scheduler.T_max"),
    ("loss/tiny.yaml", "name: [cross_entropy\n", "tiny.yaml"),
    ("loss/tiny.yaml", "name: nope_loss\n", "nope_loss"),
]


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        run(argv)
    return int(info.value.code or 0)


def assert_one_line_usage_error(
    argv: list[str], expected: str, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(argv) == 2, argv
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err + captured.out
    assert "internal error" not in err, err
    assert expected in err, err
    assert not (root / "runs").exists()


# -- value ranges, sweeps and nesting (accel train), all refused before a run dir is made
DEEP = 2000
VALUE_CASES: list[tuple[list[str], str]] = [
    (["seed=-1"], "seed=-1: expected an int in [0, 4294967295]"),
    (["seed=4294967296"], "seed=4294967296: expected an int in [0, 4294967295]"),
    (["seed=123456789012345678901234567890"], "seed=123456789012345678901234567890"),
    (["optimizer.lr=-0.1"], "optimizer.lr=-0.1: expected a finite number >= 0"),
    (["optimizer.lr=nan"], "optimizer.lr=nan: expected a finite number >= 0"),
    (["optimizer.lr=inf"], "optimizer.lr=inf: expected a finite number >= 0"),
    (["optimizer.momentum=2"], "optimizer.momentum=2: expected a finite number in [0, 1]"),
    (["optimizer.momentum=-1"], "optimizer.momentum=-1: expected a finite number in [0, 1]"),
    (["optimizer.weight_decay=-0.5"], "optimizer.weight_decay=-0.5: expected a finite number"),
    (["+optimizer.dampening=1.5"], "optimizer.dampening=1.5"),
    (["scheduler.T_max=0"], "scheduler.T_max=0: expected an int >= 1"),
    (["scheduler.T_max=-1"], "scheduler.T_max=-1: expected an int >= 1"),
    (["+scheduler.eta_min=-1"], "scheduler.eta_min=-1: expected a finite number >= 0"),
    (["optimizer=adamw", "+optimizer.betas=[0.9,1.5]"], "optimizer.betas=[0.9, 1.5]: expected"),
    (["optimizer=adamw", "+optimizer.eps=-1"], "optimizer.eps=-1"),
    (["optimizer=adamw", "optimizer.lr=-3"], "optimizer.lr=-3"),
    (["scheduler=step", "+scheduler.step_size=0"], "scheduler.step_size=0: expected an int >= 1"),
    (["scheduler=step", "+scheduler.step_size=2", "+scheduler.gamma=0"], "scheduler.gamma=0"),
    (["scheduler=exponential", "+scheduler.gamma=-1"], "scheduler.gamma=-1"),
    (["scheduler=multistep", "+scheduler.milestones=[5,2]"], "scheduler.milestones=[5, 2]"),
    (["trainer.run_dir=null"], "trainer.run_dir=None: expected a folder path"),
    (["trainer.run_dir=''"], "trainer.run_dir='': expected a folder path"),
    (["trainer.run_dir=' '"], "trainer.run_dir=' ': expected a folder path"),
]
SWEEP_CASES: list[tuple[list[str], str]] = [
    (["seed=range(0,1,0)"], "the range step must not be 0"),
    (["optimizer.lr=range(0.1,1,0.0)"], "the range step must not be 0"),
    (["seed=range(5,1)"], "makes no jobs"),
    (["seed=range(0,100000)"], "100000 jobs (more than 1000); pass --yes"),
    (["seed=range(0,1001)"], "1001 jobs (more than 1000); pass --yes"),
    (["seed=range(0,40)", "optimizer.lr=range(0.01,0.3,0.01)"], "1160 jobs"),
    (["--yes", "seed=range(0,200000)"], "200000 jobs is more than 100000; split it"),
    (["--yes", "seed=range(0,1001)", "trainer.max_epochs=0"], "trainer.max_epochs"),
    (["seed=1,,2"], "sweep 'seed=1,,2'"),
    (["seed=range(0,"], "sweep 'seed=range(0,'"),
    (["seed=interval(0,1)"], "does not support sweep type"),
    (["trainer.max_epochs=1,zero"], "trainer.max_epochs"),
    (["seed=1,-1"], "seed=-1: expected an int"),
    (["optimizer.lr=0.1,-0.1"], "optimizer.lr=-0.1"),
    (["scheduler.T_max=3,0"], "scheduler.T_max=0"),
    (["model=tiny,nope"], "Could not find 'model/nope'"),
    (["+a=" + "[" * DEEP + "]" * DEEP], "nested 2000 levels deep"),
]
NESTING_CASES: list[tuple[str, str]] = [
    ("+a=" + "[" * DEEP + "]" * DEEP, "nested 2000 levels deep; at most 64"),
    ("+a=" + "[" * 65 + "]" * 65, "nested 65 levels deep; at most 64"),
    ("+a=" + "{b:" * 100 + "1" + "}" * 100, "nested 100 levels deep"),
    ("+a=" + "[{b:" * 50 + "1" + "}]" * 50, "nested 100 levels deep"),
    ("optimizer.lr=" + "[" * DEEP, "nested 2000 levels deep"),
    ("ckpt=" + "[" * DEEP + "]" * DEEP, "nested 2000 levels deep"),
]
DEEP_YAML = "a: " + "[" * 3000 + "]" * 3000 + "\n"
MORE_FILE_CASES: list[tuple[str, str | bytes, str]] = [
    ("data/tiny.yaml", DEEP_YAML, "tiny.yaml: nested too deeply to read"),
    ("main.yaml", TINY + "x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "main.yaml: nested"),
    ("data/tiny.yaml", b"\xff\xfe\x00garbage", "tiny.yaml: not UTF-8 text"),
    ("optimizer/sgd.yaml", "name: sgd\nlr: !!python/object/apply:os.system [ls]\n", "sgd.yaml"),
    ("trainer/default.yaml", 'max_epochs: 1\nrun_dir: "runs/a\\nb"\n', "trainer.run_dir"),
    ("trainer/default.yaml", 'max_epochs: 1\nrun_dir: "runs/a\\0b"\n', "trainer.run_dir"),
    ("trainer/default.yaml", "max_epochs: 1\nrun_dir: null\n", "trainer.run_dir=None"),
    ("main.yaml", TINY + "seed: -5\n", "seed=-5: expected an int"),
    ("optimizer/sgd.yaml", "name: sgd\nlr: -1\n", "optimizer.lr=-1"),
    ("optimizer/sgd.yaml", "name: sgd\nlr: 0.1\nmomentum: 1.5\n", "optimizer.momentum=1.5"),
    ("scheduler/cosine.yaml", "name: cosine\nT_max: 0\n", "scheduler.T_max=0"),
]


@pytest.mark.parametrize(("overrides", "expected"), VALUE_CASES)
def test_value_out_of_range(
    overrides: list[str], expected: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(["train", *overrides], capsys, expected, root=tiny_project, code=2)


@pytest.mark.parametrize(("overrides", "expected"), SWEEP_CASES)
def test_bad_sweep(
    overrides: list[str], expected: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "-m", *overrides]
    assert_one_line_error(argv, capsys, expected, root=tiny_project, code=2)


@pytest.mark.parametrize(("override", "expected"), NESTING_CASES)
def test_deeply_nested_override(
    override: str, expected: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(["train", override], capsys, expected, root=tiny_project, code=2)


@pytest.mark.parametrize(("path", "text", "expected"), MORE_FILE_CASES)
def test_bad_value_in_config_file(
    path: str,
    text: str | bytes,
    expected: str,
    tiny_project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tiny_project / "configs" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_one_line_error(["train"], capsys, expected, root=tiny_project, code=2)


# -- corrupted checkpoints: `accel test ckpt=` and `accel analyze-model ckpt=`
Mutate = Callable[[Path], Path]  # the copied checkpoint folder -> the path to pass as ckpt=
MARKER = "MARKER"


def _write(name: str, data: bytes) -> Mutate:
    def mutate(ckpt: Path) -> Path:
        (ckpt / name).write_bytes(data)
        return ckpt

    return mutate


def _truncate(name: str, keep: float) -> Mutate:
    def mutate(ckpt: Path) -> Path:
        data = (ckpt / name).read_bytes()
        (ckpt / name).write_bytes(data[: int(len(data) * keep)])
        return ckpt

    return mutate


def _manifest(change: Callable[[dict[str, Any]], Any]) -> Mutate:
    return lambda ckpt: edit_manifest(ckpt, change)


def _tensors(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutate:
    def mutate(ckpt: Path) -> Path:
        from safetensors.torch import load_file, save_file

        path = str(ckpt / "tensors.safetensors")
        save_file(change(load_file(path)), path)
        return ckpt

    return mutate


def _nan(tensors: dict[str, Any]) -> dict[str, Any]:
    weight = tensors["model.1.weight"].clone()
    weight[0, 0] = float("nan")
    return {**tensors, "model.1.weight": weight}


def _reshaped(tensors: dict[str, Any]) -> dict[str, Any]:
    import torch

    return {**tensors, "model.1.weight": torch.zeros(3, 5), "model.1.bias": torch.zeros(3)}


def _pointer(text: str) -> Mutate:
    def mutate(ckpt: Path) -> Path:
        (ckpt.parent / "last").write_text(text)
        return ckpt.parent

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = manifest
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part), dict | None) else {}
        node[last] = value

    return change


def _deep(levels: int) -> Any:
    value: Any = {"name": "x"}
    for _ in range(levels):
        value = {"a": value}
    return value


def _other(kind: str) -> Mutate:
    def mutate(ckpt: Path) -> Path:
        other = ckpt.parent.parent / kind
        other.mkdir(exist_ok=True) if kind == "empty" else other.write_text("just text\n")
        return other

    return mutate


SYSTEM = {"_target_": "os.system", "command": f"touch {MARKER}"}
# (id, mutation, expected in the error, commands that fail before making a run dir)
BOTH = ("test", "analyze-model")
# accel test reads the weights once, when it loads them (after making its run dir); analyze-model
# builds the model before
TENSORS = ("analyze-model",)
CHECKPOINT_CASES: list[tuple[str, Mutate, str, tuple[str, ...]]] = [
    ("tensors-empty", _write("tensors.safetensors", b""), "is unreadable", TENSORS),
    ("tensors-half", _truncate("tensors.safetensors", 0.5), "is unreadable", TENSORS),
    ("tensors-header-only", _truncate("tensors.safetensors", 0.01), "is unreadable", TENSORS),
    ("tensors-garbage", _write("tensors.safetensors", b"\x00" * 64), "is unreadable", TENSORS),
    ("manifest-empty", _write("manifest.json", b""), "is unreadable", BOTH),
    ("manifest-not-json", _write("manifest.json", b"{not json"), "is unreadable", BOTH),
    ("manifest-truncated", _truncate("manifest.json", 0.5), "is unreadable", BOTH),
    ("manifest-binary", _write("manifest.json", b"\xff\xfe\x00\x01"), "is unreadable", BOTH),
    ("manifest-deep", _write("manifest.json", b"[" * 100000), "is unreadable", BOTH),
    ("manifest-list", _write("manifest.json", b"[]"), "not an accel checkpoint manifest", BOTH),
    ("manifest-format", _manifest(_set("format", "other")), "not an accel checkpoint", BOTH),
    ("no-state", _manifest(lambda m: m.pop("state")), "holds no model weights", BOTH),
    ("state-not-mapping", _manifest(_set("state", 3)), "holds no model weights", BOTH),
    ("no-state-model", _manifest(lambda m: m["state"].pop("model")), "no model weights", BOTH),
    (
        "wrong-tensor-name",
        _manifest(_set("state.model", {"1.weight": {"__tensor__": "model.nope"}})),
        "refers to tensor 'model.nope', which is missing",
        TENSORS,
    ),
    ("state-model-not-tensors", _manifest(_set("state.model", {"w": 3})), "not a mapping", TENSORS),
    ("nan-weights", _tensors(_nan), "holds NaN weights (1.weight)", TENSORS),
    ("wrong-shapes", _tensors(_reshaped), "does not fit model", ("analyze-model",)),
    ("spec-os-system", _manifest(_set("model.spec", SYSTEM)), "model.spec._target_", BOTH),
    ("spec-not-mapping", _manifest(_set("model.spec", 3)), "model.spec: model: expected", BOTH),
    ("spec-unknown", _manifest(_set("model.spec", {"name": "nope_net"})), "nope_net", BOTH),
    ("spec-deep", _manifest(_set("model.spec", _deep(100))), "nested more than 64", BOTH),
    ("config-data-target", _manifest(_set("config.data", SYSTEM)), "config.data._target_", BOTH),
    (
        "config-callback-target",
        _manifest(_set("config.callbacks", {"x": SYSTEM})),
        "config.callbacks.x._target_",
        BOTH,
    ),
    ("config-tracker", _manifest(_set("config.tracker", SYSTEM)), "config.tracker._target_", BOTH),
    ("pointer-traversal", _pointer('{"checkpoint": "../../etc"}'), "no path separators", BOTH),
    ("pointer-not-json", _pointer("garbage"), "is unreadable", BOTH),
    ("pointer-missing", _pointer('{"checkpoint": "epoch=999"}'), "which is missing", BOTH),
    ("empty-folder", _other("empty"), "no checkpoint at", BOTH),
    ("text-file", _other("notes.txt"), "no checkpoint at", BOTH),
]


@pytest.mark.parametrize("command", BOTH)
@pytest.mark.parametrize(
    ("mutate", "expected", "before_run_dir"),
    [pytest.param(m, e, b, id=i) for i, m, e, b in CHECKPOINT_CASES],
)
def test_corrupted_checkpoint(
    command: str,
    mutate: Mutate,
    expected: str,
    before_run_dir: tuple[str, ...],
    trained_run: Path,
    tiny_project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ckpt = mutate(copy_checkpoint(trained_run, tiny_project / "shared"))
    argv = [command, f"ckpt={ckpt}"] + (["--runs", "1"] if command == "analyze-model" else [])
    root = tiny_project if command in before_run_dir else None
    assert_one_line_error(argv, capsys, expected, root=root)
    assert not (tiny_project / MARKER).exists()


TRAIN_RESUME_CASES: list[tuple[str, Mutate, str]] = [
    ("past-max-epochs", lambda ckpt: ckpt, "already reached trainer.max_epochs=1"),
    ("tensors-half", _truncate("tensors.safetensors", 0.5), "is unreadable"),
    ("no-state", _manifest(lambda m: m.pop("state")), "has no state mapping"),
    ("empty-folder", _other("empty"), "no checkpoint at"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in TRAIN_RESUME_CASES]
)
def test_train_resume_from_bad_checkpoint(
    mutate: Mutate,
    expected: str,
    trained_run: Path,
    tiny_project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ckpt = mutate(copy_checkpoint(trained_run, tiny_project / "shared"))
    argv = ["train", f"resume={ckpt}", "trainer.max_epochs=1", "~callbacks.progress"]
    assert_one_line_error(argv, capsys, expected)


# -- `accel pipeline run` with a bad step list (configs/pipeline/bad.yaml)
PIPELINE_CASES: list[tuple[str, str]] = [
    ("steps: [{name: ../x, kind: train}]", "pipeline.steps[0].name='../x': expected a name"),
    ("steps: [{name: x/y, kind: train}]", "pipeline.steps[0].name='x/y'"),
    ("steps: [{name: '', kind: train}]", "pipeline.steps[0].name=''"),
    ('steps: [{name: "a\\nb", kind: train}]', "pipeline.steps[0].name='a\\nb'"),
    ("steps: [{name: .hidden, kind: train}]", "pipeline.steps[0].name='.hidden'"),
    ("steps: [{name: '..', kind: train}]", "pipeline.steps[0].name='..'"),
    ("steps: [{name: 3, kind: train}]", "pipeline.steps[0].name=3"),
    ("steps: [{name: [a], kind: train}]", "pipeline.steps[0].name=['a']"),
    ("steps: [{name: '" + "x" * 200 + "', kind: train}]", "expected a name of up to 128"),
    ("steps: [{name: a, kind: bake}]", "pipeline.steps[0].kind='bake' is not valid"),
    ("steps: [{name: a, kind: [train]}]", "pipeline.steps[0].kind=['train'] is not valid"),
    ("steps: [{name: a, kind: train}, {name: a, kind: train}]", "'a' is used twice"),
    ("steps: [{name: a, kind: train, config: 3}]", "pipeline.steps[0].config: expected"),
    ("steps: {a: 1}", "pipeline.steps: expected a non-empty list"),
    ("steps: []", "pipeline.steps: expected a non-empty list"),
    ("steps: [3]", "pipeline.steps[0]: expected a mapping"),
]


@pytest.mark.parametrize(("steps", "expected"), PIPELINE_CASES)
def test_bad_pipeline_steps(
    steps: str, expected: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tiny_project / "configs" / "pipeline").mkdir()
    (tiny_project / "configs" / "pipeline" / "bad.yaml").write_text(f"name: bad\n{steps}\n")
    argv = ["pipeline", "run", "pipeline=bad"]
    assert_one_line_error(argv, capsys, expected, root=tiny_project, code=2)


# -- `accel pipeline run --resume RUN_DIR` with a corrupted run dir
PIPELINE = {"name": "p", "steps": [{"name": "train", "kind": "train"}, {"name": "evaluate"}]}
Craft = Callable[[Path, dict[str, Any]], None]  # (run dir, stored config) -> writes files


def _config_text(text: str | bytes) -> Craft:
    def craft(run_dir: Path, config: dict[str, Any]) -> None:
        data = text if isinstance(text, bytes) else text.encode()
        (run_dir / "config.yaml").write_bytes(data)

    return craft


def _config(change: Callable[[dict[str, Any]], Any]) -> Craft:
    def craft(run_dir: Path, config: dict[str, Any]) -> None:
        change(config)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))

    return craft


def _state(text: str | dict[str, Any]) -> Craft:
    def craft(run_dir: Path, config: dict[str, Any]) -> None:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        data = text if isinstance(text, str) else json.dumps(text)
        (run_dir / "pipeline_state.json").write_text(data.replace("RUN", str(run_dir)))

    return craft


def _record(**record: Any) -> dict[str, Any]:
    return {"steps": {"train": {"status": "done", **record}}}


def _link(name: str) -> Craft:
    def craft(run_dir: Path, config: dict[str, Any]) -> None:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        outside = run_dir.parent / "outside"
        outside.mkdir(exist_ok=True)
        (outside / "keep.txt").write_text("a user's file")
        (run_dir / name).symlink_to(outside / "keep.txt" if name == "accel.log" else outside)

    return craft


def _step(**step: Any) -> Callable[[dict[str, Any]], None]:
    return lambda config: config["pipeline"]["steps"].insert(0, step)


INSIDE = "RUN/steps/00-train"
RESUME_CASES: list[tuple[str, Craft, str]] = [
    ("config-missing", lambda run_dir, config: None, "no config.yaml there"),
    ("config-broken", _config_text("a: [1,\n"), "config.yaml: broken YAML"),
    ("config-list", _config_text("- a\n- b\n"), "expected a mapping (the config of an accel run)"),
    ("config-scalar", _config_text("3\n"), "got int"),
    ("config-empty", _config_text(""), "got NoneType"),
    ("config-binary", _config_text(b"\xff\xfe\x00\x01"), "config.yaml: unreadable"),
    ("config-python-tag", _config_text("a: !!python/object/apply:os.system [ls]\n"), "broken"),
    ("config-deep-yaml", _config_text(DEEP_YAML), "config.yaml: nested too deeply"),
    ("config-deep", _config(lambda c: c.update(x=_deep(100))), "nested more than 64 levels"),
    ("model-target", _config(lambda c: c.update(model=SYSTEM)), "config.yaml: model._target_"),
    ("data-target", _config(lambda c: c.update(data=SYSTEM)), "config.yaml: data._target_"),
    (
        "callback-target",
        _config(lambda c: c["callbacks"].update(x=SYSTEM)),
        "callbacks.x._target_ = 'os.system'",
    ),
    ("tracker-target", _config(lambda c: c.update(tracker=SYSTEM)), "tracker._target_"),
    (
        "pass-target",
        _config(_step(name="c", kind="compress", passes=[SYSTEM])),
        "pipeline.steps[0].passes[0]._target_",
    ),
    ("step-traversal", _config(_step(name="../x", kind="train")), "steps[0].name='../x'"),
    ("step-slash", _config(_step(name="x/../../y", kind="train")), "steps[0].name='x/../../y'"),
    ("no-pipeline", _config(lambda c: c.update(pipeline=None)), "pipeline: choose one"),
    ("unknown-key", _config(lambda c: c.update(extra=1)), "config.yaml: extra: unknown"),
    ("bad-lr", _config(lambda c: c["optimizer"].update(lr=-1)), "optimizer.lr=-1"),
    ("bad-seed", _config(lambda c: c.update(seed=-1)), "config.yaml: seed=-1"),
    ("state-not-json", _state("{not json"), "pipeline_state.json: not a pipeline state file"),
    ("state-list", _state("[]"), "not a pipeline state file"),
    ("state-steps-list", _state({"steps": []}), "not a pipeline state file"),
    ("record-not-mapping", _state({"steps": {"train": 3}}), "steps.train: expected a mapping"),
    ("record-extra-key", _state(_record(pickle="x")), "steps.train: expected a mapping"),
    ("record-status", _state(_record(status="bogus")), "steps.train.status='bogus'"),
    ("record-seconds", _state(_record(seconds="x")), "steps.train.seconds='x'"),
    (
        "record-seconds-nan",
        _state('{"steps": {"train": {"status": "done", "seconds": NaN}}}'),
        "nan",
    ),
    ("record-metrics", _state(_record(metrics=[])), "steps.train.metrics: expected a mapping"),
    ("record-error", _state(_record(error=3)), "steps.train.error: expected a string"),
    ("step-key", _state({"steps": {"../x": {"status": "done"}}}), "steps key='../x'"),
    ("artifact-list", _state(_record(artifact=[])), "steps.train.artifact: expected a mapping"),
    (
        "artifact-format",
        _state(_record(artifact={"format": "pickle", "path": INSIDE})),
        "steps.train.artifact.format='pickle': expected one of",
    ),
    (
        "artifact-absolute",
        _state(_record(artifact={"format": "onnx", "path": "/etc/passwd"})),
        "steps.train.artifact.path='/etc/passwd': expected a path inside",
    ),
    (
        "artifact-dotdot",
        _state(_record(artifact={"format": "checkpoint", "path": "RUN/../outside"})),
        "artifact.path=",
    ),
    (
        "artifact-not-str",
        _state(_record(artifact={"format": "onnx", "path": 3})),
        "steps.train.artifact.path: expected a path inside",
    ),
    (
        "artifact-spec-target",
        _state(_record(artifact={"format": "module", "path": INSIDE, "spec": SYSTEM})),
        "steps.train.artifact.spec._target_",
    ),
    ("log-link", _link("accel.log"), "accel.log: is a link"),
    ("steps-link", _link("steps"), "steps: is a link"),
]


@pytest.fixture
def stored_config(tiny_project: Path) -> dict[str, Any]:
    """The resolved config a pipeline run of the tiny project stores in its run dir."""
    from accel.cli.config.load import load_config

    config = load_config(["trainer.max_epochs=1", "~callbacks.progress"]).config
    return {**config, "pipeline": json.loads(json.dumps(PIPELINE))}


@pytest.mark.parametrize(
    ("craft", "expected"), [pytest.param(c, e, id=i) for i, c, e in RESUME_CASES]
)
def test_resume_corrupted_run_dir(
    craft: Craft,
    expected: str,
    stored_config: dict[str, Any],
    tiny_project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = tiny_project / "crafted"
    run_dir.mkdir()
    craft(run_dir, stored_config)
    before = sorted(p.name for p in run_dir.iterdir())
    assert_one_line_error(["pipeline", "run", "--resume", str(run_dir)], capsys, expected)
    assert sorted(p.name for p in run_dir.iterdir()) == before  # nothing started, nothing made
    assert not (tiny_project / MARKER).exists()
    outside = run_dir.parent / "outside" / "keep.txt"
    assert not outside.parent.exists() or outside.read_text() == "a user's file"


# -- `accel add KIND NAME [--base BASE]`: nothing is written for a bad request
ADD_CASES: list[tuple[list[str], str]] = [
    (["widget", "x"], "unknown kind 'widget'; valid kinds: model"),
    (["loss", "MyLoss"], "name 'MyLoss' must be lower_snake_case"),
    (["loss", "2fast"], "name '2fast' must be lower_snake_case"),
    (["loss", "my-loss"], "name 'my-loss'"),
    (["loss", ""], "name ''"),
    (["loss", "../x"], "name '../x'"),
    (["loss", "x/y"], "name 'x/y'"),
    (["model", "a\nb"], "name 'a\\nb'"),
    (["model", "class"], "name 'class' must be lower_snake_case"),
    (["model", "x" * 65], "of up to 64 characters"),
    (["optimizer", "x", "--base", "x\n_target_: os.system"], "--base 'x\\n_target_: os.system'"),
    (["optimizer", "x", "--base", "../x"], "--base '../x' must be a registry name"),
    (["optimizer", "x", "--base", "a..b"], "--base 'a..b'"),
    (["optimizer", "x", "--base", "1abc"], "--base '1abc'"),
    (["optimizer", "x", "--base", "x y"], "--base 'x y'"),
    (["optimizer", "x", "--base", ""], "--base ''"),
    (["scheduler", "x", "--base", "{a: 1}"], "--base '{a: 1}'"),
    (["scheduler", "x", "--base", "step:"], "--base 'step:'"),
    (["loss", "x", "--base", "sgd"], "--base is for optimizer and scheduler presets"),
]


@pytest.mark.parametrize(("args", "expected"), ADD_CASES)
def test_bad_add_request(
    args: list[str], expected: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(["add", *args], capsys, expected, code=2)
    assert list(workdir.iterdir()) == []  # no configs/, no plugins/


CATEGORIES = {
    "train overrides": len(OVERRIDE_CASES),
    "project config files": len(FILE_CASES) + len(MORE_FILE_CASES),
    "value ranges": len(VALUE_CASES),
    "sweeps": len(SWEEP_CASES),
    "nesting": len(NESTING_CASES),
    "checkpoints (test, analyze-model)": len(CHECKPOINT_CASES) * len(BOTH),
    "train resume=": len(TRAIN_RESUME_CASES),
    "pipeline steps": len(PIPELINE_CASES),
    "pipeline --resume run dirs": len(RESUME_CASES),
    "add": len(ADD_CASES),
}


def test_at_least_200_cases() -> None:
    assert sum(CATEGORIES.values()) >= 200, CATEGORIES


@pytest.mark.parametrize(("override", "expected"), OVERRIDE_CASES)
def test_malformed_override(
    override: str, expected: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_usage_error(["train", override], expected, tiny_project, capsys)


@pytest.mark.parametrize(("path", "text", "expected"), FILE_CASES)
def test_malformed_config_file(
    path: str, text: str, expected: str, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tiny_project / "configs" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    assert_one_line_usage_error(["train"], expected, tiny_project, capsys)
