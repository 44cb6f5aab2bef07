"""The Trainer: a short constructor that resolves options, and fit/validate/test that forward
to the engine, the loops and the callbacks."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.core.callbacks.base import CallbackList
from accel.core.checkpoint import save_checkpoint
from accel.core.data import count_batches, make_resumable
from accel.core.errors import AccelError, ConfigError
from accel.core.metrics import build_metrics
from accel.core.options import EngineOptions, LoopOptions
from accel.core.protocols import check_protocol
from accel.core.registry import build
from accel.core.runtime.activation_checkpointing import enable_checkpointing
from accel.core.runtime.components import resolve_loss, resolve_optimizer, resolve_scheduler
from accel.core.runtime.distributed import (
    barrier,
    check_devices,
    is_main_process,
    prepare_loader,
    rank_callbacks,
    reduce,
)
from accel.core.runtime.loops import FitRun, check_finite, evaluate, step_lr, train_batches
from accel.core.runtime.resume import (
    check_finite_weights,
    check_work_left,
    collect_state,
    restore_state,
    weight_sets,
)
from accel.core.runtime.state import RunState
from accel.core.seeding import capture_rng, restore_rng, seed_everything, set_deterministic

RESUME_WORDS = ("last", "auto")


def make_default_callbacks() -> list[Any]:
    """Progress bar, metric logger, checkpoint (last + best) and LR monitor."""
    from accel.core.callbacks.checkpoint import ModelCheckpoint
    from accel.core.callbacks.lr_monitor import LRMonitor
    from accel.core.callbacks.metric_logger import MetricLogger
    from accel.core.callbacks.progress import ProgressBar

    return [ProgressBar(), MetricLogger(), ModelCheckpoint(), LRMonitor()]


class Trainer:
    """Fit, validate and test a model; see the package README for a complete example."""

    def __init__(
        self,
        *,
        max_epochs: int = 1,
        max_steps: int | None = None,
        run_dir: str | Path | None = None,
        seed: int | None = None,
        deterministic: bool = False,
        log_every_n_steps: int = 50,
        val_every_n_epochs: int = 1,
        engine: str | Mapping[str, Any] | Any = "torch",
        device: str = "auto",
        devices: int = 1,
        precision: str = "32",
        accumulate_grad_batches: int = 1,
        clip_grad_norm: float | None = None,
        compile: bool = False,
        channels_last: bool = False,
        gradient_checkpointing: bool = False,
        callbacks: Sequence[Any] | None = None,
        default_callbacks: bool = True,
        tracker: Any = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        # 1. the loop: how long, how often, where (each option checked by its dataclass)
        self.options = LoopOptions(
            max_epochs=max_epochs,
            max_steps=max_steps,
            run_dir=run_dir,
            seed=seed,
            deterministic=deterministic,
            log_every_n_steps=log_every_n_steps,
            val_every_n_epochs=val_every_n_epochs,
        )
        # 2. the engine: device, precision, accumulation, clipping, compile
        engine_options = EngineOptions(
            device=device,
            precision=precision,
            accumulate_grad_batches=accumulate_grad_batches,
            clip_grad_norm=clip_grad_norm,
            compile=compile,
            channels_last=channels_last,
        )
        self.engine = _resolve_engine(engine, engine_options)
        check_devices(devices, self.engine)
        if not isinstance(gradient_checkpointing, bool):
            raise ConfigError(
                "trainer.gradient_checkpointing must be true or false, got "
                f"{gradient_checkpointing!r}"
            )
        self.gradient_checkpointing = gradient_checkpointing
        # 3. the run directory
        self.run_dir = Path(self.options.run_dir or time.strftime("runs/%Y%m%d-%H%M%S"))
        # 4. callbacks: the defaults, the user's, and the tracker's
        self.callbacks = _resolve_callbacks(callbacks, tracker, default_callbacks)
        self.tracker = tracker
        self.config = dict(config) if config is not None else None
        self._run: FitRun | None = None

    @property
    def is_main_process(self) -> bool:
        """True on the one process that writes files (always, with one process)."""
        return is_main_process(self.engine)

    # ---- public API -------------------------------------------------------------------------
    def fit(
        self,
        model: nn.Module,
        train_loader: Any,
        val_loader: Any = None,
        *,
        optimizer: Any,
        loss: Any,
        scheduler: Any = None,
        metrics: Any = None,
        resume: str | Path | None = None,
    ) -> dict[str, float]:
        """Train for `max_epochs` (or `max_steps`), validating each epoch; return final metrics."""
        run = self._prepare_fit(
            model, train_loader, val_loader, optimizer, loss, scheduler, metrics
        )
        if resume is not None:
            self._resume(run, resume)
        self._run = run
        try:
            return self._fit_loop(run)
        finally:
            self._run = None

    def validate(
        self, model: nn.Module, loader: Any, *, loss: Any = None, metrics: Any = None
    ) -> dict[str, float]:
        """Loss and metrics on `loader`, as `{"val/loss": ..., "val/<metric>": ...}`."""
        return self._evaluate_alone(model, loader, loss, metrics, "val", "validation")

    def test(
        self, model: nn.Module, loader: Any, *, loss: Any = None, metrics: Any = None
    ) -> dict[str, float]:
        """Loss and metrics on `loader`, as `{"test/loss": ..., "test/<metric>": ...}`."""
        return self._evaluate_alone(model, loader, loss, metrics, "test", "test")

    def save_checkpoint(self, name: str) -> Path:
        """Write a checkpoint of the running fit under `run_dir/checkpoints/name`."""
        run = self._run
        if run is None:
            raise AccelError("save_checkpoint works during fit only (from a callback)")
        check_finite(run)
        check_finite_weights(run)
        state = collect_state(run)  # every process: it may gather (shards, RNG states)
        path = self.run_dir / "checkpoints" / name
        if self.is_main_process:
            weights, default = weight_sets(run)
            path = save_checkpoint(
                path.parent,
                name,
                state,
                config=self.config,
                model_class=f"{type(run.model).__module__}.{type(run.model).__qualname__}",
                weights=weights,
                default_weights=default,
            )
        barrier(self.engine)  # nobody reads or prunes before the main process has written
        run.last_checkpoint = str(path)
        run.state.checkpoint_path = path
        run.callbacks.fire("checkpoint_save", run.state)
        return path

    def release_scheduler(self) -> Any:
        """Stop stepping the fit's LR scheduler, for a callback that takes the learning rate
        over (SWA); return the released scheduler (None if there was none). During fit only."""
        run = self._run
        if run is None:
            raise AccelError("release_scheduler works during fit only (from a callback)")
        plan, run.scheduler = run.scheduler, None
        return plan.scheduler if plan is not None else None

    def model_evaluator(
        self, loader: Any, loss_fn: Any, metrics: dict[str, Any]
    ) -> Callable[[nn.Module, str], dict[str, float]]:
        """`evaluate_model(model, prefix)`: loss and metrics of another model (an averaged
        copy) on `loader`, the random number generators left as they were, so an observer
        such as EMA does not change the raw model's training."""

        def evaluate_model(model: nn.Module, prefix: str) -> dict[str, float]:
            rng = capture_rng()
            scratch = RunState(trainer=self, run_dir=self.run_dir, stage="evaluate", model=model)
            try:
                return evaluate(
                    model,
                    model,
                    loader,
                    loss_fn,
                    metrics,
                    self.engine,
                    scratch,
                    CallbackList([]),
                    prefix,
                )
            finally:
                restore_rng(rng)

        return evaluate_model

    # ---- fit internals ----------------------------------------------------------------------
    def _prepare_fit(
        self,
        model: Any,
        train_loader: Any,
        val_loader: Any,
        optimizer: Any,
        loss: Any,
        scheduler: Any,
        metrics: Any,
    ) -> FitRun:
        check_protocol("models", type(model).__name__, model)
        num_batches = count_batches(train_loader, "train_loader")
        if val_loader is not None:
            count_batches(val_loader, "val_loader")
        loss_fn = resolve_loss(loss)
        optimizer = resolve_optimizer(optimizer, model)
        plan = resolve_scheduler(scheduler, optimizer)
        metric_objs = build_metrics(metrics, getattr(train_loader, "num_classes", None))
        seed = self.options.seed
        if seed is not None:
            seed_everything(seed)
        else:
            seed = random.SystemRandom().randrange(2**31)
        if self.options.deterministic:
            set_deterministic(True)
        if self.gradient_checkpointing:  # activations recomputed in backward: less memory
            enable_checkpointing(model)
        forward, optimizer = self.engine.setup(model, optimizer)
        loader, sampler = make_resumable(train_loader, seed)
        loader = prepare_loader(self.engine, loader, train=True)
        state = RunState(
            trainer=self,
            run_dir=self.run_dir,
            model=model,
            optimizer=optimizer,
            max_epochs=self.options.max_epochs,
            num_batches=num_batches,
            batch_size=getattr(train_loader, "batch_size", None),
            in_fit=True,
            has_validation=val_loader is not None,
            train_loader=train_loader,
        )
        device = getattr(self.engine, "device", torch.device("cpu"))
        return FitRun(
            model=model,
            forward=forward,
            optimizer=optimizer,
            loss_fn=loss_fn,
            scheduler=plan,
            metrics=metric_objs,
            loader=loader,
            sampler=sampler,
            val_loader=prepare_loader(self.engine, val_loader, train=False),
            seed=seed,
            engine=self.engine,
            callbacks=CallbackList(rank_callbacks(self.callbacks, self.engine)),
            state=state,
            max_steps=self.options.max_steps,
            log_every_n_steps=self.options.log_every_n_steps,
            loss_sum=torch.zeros((), device=device),
        )

    def _fit_loop(self, run: FitRun) -> dict[str, float]:
        s, callbacks = run.state, run.callbacks
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            callbacks.fire("fit_start", s)
            while s.epoch < s.max_epochs and not s.should_stop:
                self._run_epoch(run)
                if s.should_stop or s.epoch + 1 >= s.max_epochs:
                    break
                s.epoch, s.batch_idx, s.epoch_done = s.epoch + 1, 0, False
                run.loss_sum = torch.zeros_like(run.loss_sum)
            callbacks.fire("fit_end", s)  # inside: a failing handler still ends trackers FAILED
        except BaseException as error:
            s.error = error
            callbacks.fire("exception", s)
            raise
        return dict(s.metrics)

    def _run_epoch(self, run: FitRun) -> None:
        s, callbacks = run.state, run.callbacks
        if s.epoch_done:  # resumed from an end-of-epoch checkpoint: nothing left of this epoch
            return
        callbacks.fire("epoch_start", s)
        first = s.epoch == 0 and s.batch_idx == 0 and s.global_step == 0
        try:
            train_batches(run)
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            if first and s.batch_idx == 0 and not isinstance(error, AccelError):
                raise first_batch_error(run, error) from error
            raise
        if s.should_stop and s.batch_idx < s.num_batches:
            return  # max_steps reached mid-epoch
        check_finite(run)
        s.metrics["train/loss"] = float(reduce(run.engine, run.loss_sum, "mean")) / max(
            s.batch_idx, 1
        )
        s.metrics["epoch"] = float(s.epoch)
        if run.val_loader is not None and (s.epoch + 1) % self.options.val_every_n_epochs == 0:
            s.metrics.update(self._validate_in_fit(run))
        if run.scheduler is not None and run.scheduler.interval == "epoch":
            step_lr(run)
        s.epoch_done = True
        callbacks.fire("epoch_end", s)

    def _validate_in_fit(self, run: FitRun) -> dict[str, float]:
        s = run.state
        s.eval_stage, s.eval_num_batches = "validation", len(run.val_loader)
        s.evaluate_model = self.model_evaluator(run.val_loader, run.loss_fn, run.metrics)
        run.callbacks.fire("validation_start", s)
        results = evaluate(
            run.forward,
            run.model,
            run.val_loader,
            run.loss_fn,
            run.metrics,
            self.engine,
            s,
            run.callbacks,
            "val",
        )
        s.metrics.update(results)
        run.callbacks.fire("validation_end", s)
        s.eval_stage, s.evaluate_model = None, None
        return results

    def _resume(self, run: FitRun, resume: str | Path) -> None:
        where = self.run_dir if str(resume) in RESUME_WORDS else Path(resume)
        if str(resume) == "auto" and not (where / "checkpoints" / "last").is_file():
            return
        run.state.checkpoint_path = run.state.resumed_from = restore_state(run, where)
        if str(resume) != "auto":  # `auto` re-runs a finished job as a no-op, on purpose
            check_work_left(run)
        run.callbacks.fire("checkpoint_load", run.state)

    # ---- stand-alone evaluation -------------------------------------------------------------
    def _evaluate_alone(
        self, model: nn.Module, loader: Any, loss: Any, metrics: Any, prefix: str, stage: str
    ) -> dict[str, float]:
        count = count_batches(loader, f"{stage} loader")
        loss_fn = resolve_loss(loss) if loss is not None else None
        metric_objs = build_metrics(metrics, getattr(loader, "num_classes", None))
        if loss_fn is None and not metric_objs:
            raise ConfigError(f"{stage} needs a loss or metrics (e.g. metrics=['accuracy'])")
        forward, _ = self.engine.setup(model, None)
        loader = prepare_loader(self.engine, loader, train=False)
        callbacks = CallbackList(rank_callbacks(self.callbacks, self.engine))
        state = RunState(trainer=self, run_dir=self.run_dir, stage=stage, model=model)
        state.eval_stage, state.eval_num_batches = stage, count
        state.evaluate_model = self.model_evaluator(loader, loss_fn, metric_objs)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            callbacks.fire(f"{stage}_start", state)
            results = evaluate(
                forward, model, loader, loss_fn, metric_objs, self.engine, state, callbacks, prefix
            )
            state.metrics.update(results)
            callbacks.fire(f"{stage}_end", state)
        except BaseException as error:
            state.error = error
            callbacks.fire("exception", state)
            raise
        return dict(state.metrics)  # with what callbacks added (an averaged model's metrics)


def first_batch_error(run: FitRun, error: BaseException) -> ConfigError:
    """A model, data and loss that do not fit together fail on the first batch: one line
    that says so (torch's own message names the shapes), instead of a traceback."""
    detail = (str(error).strip().splitlines() or [""])[0][:300]
    loss_name = getattr(run.loss_fn, "__name__", type(run.loss_fn).__name__)
    return ConfigError(
        f"the first training batch failed ({type(error).__name__}: {detail}): check that the "
        f"model ({type(run.model).__name__}), the data and the loss ({loss_name}) fit "
        "together, e.g. the model's in_channels/num_classes against the data's"
    )


def _resolve_engine(engine: Any, options: EngineOptions) -> Any:
    """An engine object, or one built by name with the trainer's engine options."""
    if isinstance(engine, str | Mapping):
        spec = {"name": engine} if isinstance(engine, str) else dict(engine)
        return build("engines", {**vars(options), **spec})
    changed = [k for k, v in vars(options).items() if v != getattr(EngineOptions(), k)]
    if changed:
        raise ConfigError(
            f"Received both an engine object and trainer option(s) {', '.join(changed)}. "
            "Choose one: configure the engine object, or pass engine by name."
        )
    check_protocol("engines", type(engine).__name__, engine)
    return engine


def _resolve_callbacks(given: Sequence[Any] | None, tracker: Any, defaults: bool) -> list[Any]:
    """Defaults (unless disabled) replaced by given callbacks of the same type, plus a tracker."""
    built = [c if not isinstance(c, str | Mapping) else build("callbacks", c) for c in given or []]
    for callback in built:
        check_protocol("callbacks", type(callback).__name__, callback)
        CallbackList([callback])  # rejects unknown events and priorities now, not mid-run
    kinds = {type(c) for c in built}
    chosen = [c for c in make_default_callbacks() if type(c) not in kinds] if defaults else []
    chosen += built
    if tracker is not None:
        from accel.core.callbacks.tracker import TrackerCallback

        check_protocol("trackers", type(tracker).__name__, tracker)
        if not any(isinstance(c, TrackerCallback) for c in chosen):
            chosen.append(TrackerCallback(tracker))
    return chosen
