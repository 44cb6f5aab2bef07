"""`run_from_config`: one run (fit, validate or test) from a resolved config dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accel.core.checkpoint import load_checkpoint, load_model_state, model_state_dict
from accel.core.engines.torch_engine import TorchEngine
from accel.core.errors import ConfigError
from accel.core.runtime.context import Context, build_context
from accel.core.runtime.trainer import Trainer
from accel.core.signature import check_arguments

STAGES = ("fit", "validate", "test", "fit+test")


def trainer_from_context(ctx: Context) -> Trainer:
    """A Trainer with the config's trainer options, callbacks, tracker and config."""
    reserved = sorted({"callbacks", "tracker", "config"} & set(ctx.trainer_options))
    if reserved:
        raise ConfigError(
            f"trainer.{reserved[0]} belongs at the top level of the config, not under trainer"
        )
    check_arguments(Trainer, ctx.trainer_options, "trainer")
    return Trainer(
        **ctx.trainer_options, callbacks=ctx.callbacks, tracker=ctx.tracker, config=ctx.config
    )


def fit(ctx: Context, trainer: Trainer) -> dict[str, float]:
    """`trainer.fit` with the Context's components (resuming where the config says)."""
    return trainer.fit(
        ctx.model,
        ctx.train_loader,
        ctx.val_loader,
        optimizer=ctx.optimizer,
        loss=ctx.loss,
        scheduler=ctx.scheduler,
        metrics=ctx.metrics,
        resume=ctx.config.get("resume"),
    )


def test_in_memory(ctx: Context, trainer: Trainer) -> dict[str, float]:
    """Test the model as the fit left it (the last weights, which the last checkpoint holds)
    with the fit's own components: no second Context, no checkpoint re-read."""
    loader = ctx.data.test_dataloader() if ctx.data is not None else None
    if loader is None:
        raise ConfigError(f"data module {ctx.config['data']!r} has no test loader")
    return trainer.test(ctx.model, loader, loss=ctx.loss, metrics=ctx.metrics)


def run_from_config(
    cfg: Mapping[str, Any], stage: str = "fit", *, tracker: Any = None, model: Any = None
) -> dict[str, float]:
    """Build a Context through the registry and run `stage` ("fit+test": fit, then test the
    last weights, from the one Context); return its metrics.

    `tracker`, when given, replaces the config's: e.g. a child run of a pipeline or a sweep.
    `model`, when given, replaces the one `config.model` would build (a model to fine-tune).
    """
    if stage not in STAGES:
        raise ConfigError(f"stage {stage!r} is not valid; use one of {', '.join(STAGES)}")
    ctx = build_context(cfg, "fit" if stage == "fit+test" else stage, model=model)
    if tracker is not None:
        ctx.tracker = tracker
    trainer = trainer_from_context(ctx)
    if stage == "fit+test":
        metrics = dict(fit(ctx, trainer))
        if isinstance(trainer.engine, TorchEngine):  # one process, the model as it is
            return {**metrics, **test_in_memory(ctx, trainer)}
        # a multi-process engine has wrapped the model: test a fresh one, from the last
        # checkpoint (every process, as the fit ran)
        again = {**cfg, "checkpoint": str(trainer.run_dir)}
        return {**metrics, **run_from_config(again, "test", tracker=tracker)}
    if stage == "fit":
        return fit(ctx, trainer)
    if ctx.config.get("checkpoint"):
        manifest, tensors = load_checkpoint(ctx.config["checkpoint"])
        weights = model_state_dict(manifest, tensors, ctx.config.get("weights"))
        load_model_state(ctx.model, weights, manifest["path"])
    loader = ctx.val_loader if stage == "validate" else ctx.test_loader
    if loader is None:
        raise ConfigError(f"data module {ctx.config['data']!r} has no {stage} loader")
    run = trainer.validate if stage == "validate" else trainer.test
    return run(ctx.model, loader, loss=ctx.loss, metrics=ctx.metrics)
