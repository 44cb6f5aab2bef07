"""Fuzz-style: malformed overrides and config files give a one-line error naming the key or
file (and what is valid), exit code 2, and no traceback; nothing is trained."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert expected in err, err
    assert not (root / "runs").exists()


def test_at_least_100_cases() -> None:
    assert len(OVERRIDE_CASES) + len(FILE_CASES) >= 100


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
