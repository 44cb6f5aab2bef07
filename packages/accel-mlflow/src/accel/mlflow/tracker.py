"""The MLflow tracker (`accel.trackers: mlflow`): one accel run, one MLflow run.

Every call from the training loop is cheap and never waits on the network: records go to a
bounded queue, a background thread writes them to the run directory's spool, and a sender
process (shared by a run and its nested runs) sends them, so neither HTTP nor request
building ever holds the training process's GIL.
The server may be down at start, mid-run or flapping; training does not notice, and what was
not sent is replayed when the server answers again, on resume, or by `accel mlflow sync`.
"""

from __future__ import annotations

import atexit
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from accel.core.atomic import write_text_atomic
from accel.core.errors import ConfigError
from accel.mlflow.client_env import client_settings
from accel.mlflow.flatten import config_hash, flatten_config
from accel.mlflow.lifecycle import error_tags, resolve_status
from accel.mlflow.limits import Limits
from accel.mlflow.models import prepare_file, prepare_torch
from accel.mlflow.replay import now_ms
from accel.mlflow.run_tags import git_tags, host_tags, override_tags, version_tags
from accel.mlflow.sanitize import sanitize_key, sanitize_params, sanitize_tags
from accel.mlflow.sender_link import SenderLink
from accel.mlflow.spool import Spool
from accel.mlflow.state import RunState
from accel.mlflow.uri import resolve_tracking_uri
from accel.mlflow.worker import Worker

log = logging.getLogger(__name__)

STATE_DIR = "mlflow"
RUN_DIR_TAG = "accel.run_dir"


class MlflowTracker:
    """Sends an accel run to MLflow: config as params, metrics, artifacts, models, status.

    `uri` (else MLFLOW_TRACKING_URI, else `sqlite:///<cwd>/mlflow.db`) says where;
    `run_dir` is the accel run directory (the spool and run id live in `<run_dir>/mlflow`);
    when not given, an `accel.run_dir` tag passed to `start_run` sets it.
    """

    def __init__(
        self,
        *,
        uri: str | None = None,
        experiment: str = "accel",
        run_name: str | None = None,
        run_dir: str | Path | None = None,
        tags: Mapping[str, Any] | None = None,
        overrides: Sequence[str] | None = None,
        register_as: str | None = None,
        alias: str | None = "candidate",
        max_param_length: int = 6000,
        queue_size: int = 10_000,
        flush_interval: float = 1.0,
        flush_timeout: float = 10.0,
        plots: bool = True,
        parent_run_id: str | None = None,
        http_retries: int = 1,
    ) -> None:
        if queue_size < 1 or flush_interval <= 0 or flush_timeout < 0:
            raise ConfigError(
                f"mlflow tracker: queue_size={queue_size}, flush_interval={flush_interval}, "
                f"flush_timeout={flush_timeout}; valid: queue_size >= 1, flush_interval > 0, "
                "flush_timeout >= 0"
            )
        self.uri = resolve_tracking_uri(uri)
        self.experiment = experiment
        self.run_name = run_name
        self._run_dir_given = run_dir is not None
        self.run_dir = Path(run_dir) if run_dir else Path.cwd() / ".accel-mlflow" / uuid.uuid4().hex
        self.extra_tags = dict(tags or {})
        self.overrides = list(overrides or [])
        self.register_as = register_as
        self.alias = alias
        self.limits = Limits(max_param_length=max_param_length)
        self.options = {"queue_size": queue_size, "interval": flush_interval}
        self.flush_timeout = flush_timeout
        self.plots = plots
        self.parent_run_id = parent_run_id
        self._parent_dir: Path | None = None  # set on a nested run: its parent's state dir
        self._worker: Worker | None = None
        self._link: SenderLink | None = None
        self._parent: MlflowTracker | None = None
        self.client_settings = client_settings(self.uri, http_retries)  # the sender's, not ours

    @property
    def directory(self) -> Path:
        """Where this run's state, spool, config snapshot, plots and model copies live."""
        return self.run_dir / STATE_DIR

    @property
    def run_id(self) -> str | None:
        """The MLflow run id, once the server has created the run (None before)."""
        state = RunState.load(self.directory)
        return state.run_id if state else None

    def start_run(self, name: str | None = None, tags: Mapping[str, str] | None = None) -> None:
        """Start (or, when the run directory has one, reattach to) the MLflow run."""
        if self._worker is not None:
            raise ConfigError(f"mlflow tracker: a run is already active in {self.run_dir}")
        if not self._run_dir_given and tags and tags.get(RUN_DIR_TAG):
            self.run_dir = Path(tags[RUN_DIR_TAG])  # the runtime says where its run lives
        state, resumed = self._load_or_create_state(name, tags)
        self._link = self._sender_link().acquire()
        self._link.open(str(self.directory), self.limits.max_param_length)
        self._worker = Worker(Spool(self.directory), self._link, **self.options)  # type: ignore[arg-type]
        self._worker.start()
        atexit.register(self._spill_at_exit)
        self._submit({"op": "status", "status": "RUNNING"})  # also creates the run early
        if resumed:
            self._submit({"op": "tags", "data": {**state.tags, "accel.resumed_at": str(now_ms())}})

    def _sender_link(self) -> SenderLink:
        """The parent run's sender when this is a nested run of a live one, else a new one."""
        parent = self._parent
        if parent is None or parent._link is None or parent._worker is None:
            return SenderLink(self.options["interval"], env=self.client_settings)
        parent._worker.flush(self.flush_timeout)  # the parent run must exist first
        return parent._link

    def _load_or_create_state(
        self, name: str | None, tags: Mapping[str, str] | None
    ) -> tuple[RunState, bool]:
        state = RunState.load(self.directory)
        if state is not None and state.tracking_uri != self.uri:
            if Spool(self.directory).has_pending():
                raise ConfigError(
                    f"{self.run_dir}: unsent data for {state.tracking_uri} (not {self.uri}); "
                    f"run `accel mlflow sync {self.run_dir}` first"
                )
            state = None
        run_tags = sanitize_tags(self._base_tags(name, tags), self.limits)
        if state is not None:
            state.tags = run_tags
            return state, True
        state = RunState(
            tracking_uri=self.uri,
            experiment=self.experiment,
            run_name=name or self.run_name,
            start_time=now_ms(),
            parent_dir=str(self._parent_dir) if self._parent_dir else None,
            parent_run_id=self.parent_run_id,
            tags=run_tags,
        )
        state.save(self.directory)
        return state, False

    def _base_tags(self, name: str | None, tags: Mapping[str, str] | None) -> dict[str, Any]:
        base: dict[str, Any] = {**git_tags(), **version_tags(), **host_tags()}
        base.update(override_tags(self.overrides or _saved_overrides(self.run_dir)))
        base[RUN_DIR_TAG] = str(self.run_dir.resolve())
        if name or self.run_name:
            base["mlflow.runName"] = name or self.run_name
        return {**base, **self.extra_tags, **(tags or {})}

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log the resolved config: flattened params, the file itself, and its hash as a tag."""
        plain = json.loads(json.dumps(dict(params), default=str))
        snapshot = self.directory / "config" / "config.yaml"
        write_text_atomic(snapshot, _to_yaml(plain))
        self._submit({"op": "params", "data": sanitize_params(flatten_config(plain), self.limits)})
        self._submit({"op": "tags", "data": {"accel.config_hash": config_hash(plain)}})
        self._submit({"op": "artifact", "path": str(snapshot), "artifact_path": "config"})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (sanitized; later values win)."""
        self._submit({"op": "tags", "data": sanitize_tags(tags, self.limits)})

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Queue metric values at `step`; tensors are copied, converted in the background.

        This runs on every logged step, on a cold cache, so it does as little as it can:
        a copy, a clock read and a deque append (~2.5 µs inside a training loop)."""
        values = dict(metrics)
        for value in values.values():
            if type(value) is not float:
                values = _detached(values)
                break
        self._require_worker().submit((values, step, time.time_ns() // 1_000_000))

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        """Upload a file or directory (checkpoint, report, plot) under `artifact_path`."""
        source = Path(path)
        if not source.exists():
            raise ConfigError(f"log_artifact: {source} does not exist")
        self._submit(
            {"op": "artifact", "path": str(source.resolve()), "artifact_path": artifact_path}
        )

    def log_model(
        self,
        path: str,
        name: str,
        *,
        registered_name: str | None = None,
        alias: str | None = None,
    ) -> None:
        """Log a model file (ONNX as an MLflow ONNX model) and register it with an alias."""
        target = prepare_file(Path(path), self.directory / "models" / sanitize_key(name))
        self._submit_model(target, name, registered_name, alias)

    def log_torch_model(
        self,
        model: Any,
        name: str,
        input_example: Any,
        *,
        registered_name: str | None = None,
        alias: str | None = None,
    ) -> None:
        """Log a live `nn.Module` in MLflow's pickle-free `pt2` format and register it."""
        target = prepare_torch(model, input_example, self.directory / "models" / sanitize_key(name))
        self._submit_model(target, name, registered_name, alias)

    def _submit_model(
        self, target: Path, name: str, registered_name: str | None, alias: str | None
    ) -> None:
        self._submit(
            {
                "op": "model",
                "path": str(target),
                "name": sanitize_key(name),
                "registered_name": registered_name
                or self.register_as
                or f"{self.experiment}.{name}",
                "alias": alias if alias is not None else self.alias,
            }
        )

    def child(self, name: str, run_dir: str | Path | None = None, **options: Any) -> MlflowTracker:
        """A tracker for a nested run (a pipeline step, a sweep job) under this one.

        Its state lives in `run_dir` (the step's or job's own run directory) or, by default,
        under this run's `children/`; it links to this run even if the server is down now.
        """
        settings = {
            "uri": self.uri,
            "experiment": self.experiment,
            "run_name": name,
            "max_param_length": self.limits.max_param_length,
            "flush_timeout": self.flush_timeout,
            "plots": self.plots,
            "register_as": self.register_as,
            "alias": self.alias,
            **options,
        }
        if run_dir is None:
            run_dir = self.directory / "children" / sanitize_key(name).replace("/", "_")
        child = MlflowTracker(run_dir=run_dir, **settings)
        child._parent, child._parent_dir = self, self.directory
        return child

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything logged so far; True when the server has all of it."""
        worker = self._require_worker()
        return worker.flush(self.flush_timeout if timeout is None else timeout)

    def end_run(self, status: str = "FINISHED", error: BaseException | None = None) -> None:
        """Flush and close the run: FINISHED, FAILED (error as a tag) or KILLED (Ctrl-C)."""
        worker = self._require_worker()
        status, error = resolve_status(status, error)
        if error is not None:
            self.set_tags(error_tags(error))
        if self.plots and worker.flush(self.flush_timeout, send=False):
            self._log_plots(worker)
        self._submit({"op": "end", "status": status, "end_time": now_ms()})
        if not worker.stop(self.flush_timeout):
            worker.spill()
            log.warning(
                "accel-mlflow: the tracking server has not got everything yet; it stays in %s "
                "and is sent on resume or by `accel mlflow sync %s`",
                worker.spool.path,
                self.run_dir,
            )
        self._worker = None
        atexit.unregister(self._spill_at_exit)
        if self._link is not None:
            self._link.release()
            self._link = None

    def _log_plots(self, worker: Worker) -> None:
        from accel.mlflow.plots import plot_metrics

        try:
            written = plot_metrics(worker.curves(), self.directory / "plots")
        except Exception as error:  # a plot must never fail a run
            log.warning("accel-mlflow: could not plot metrics: %s", error)
            return
        if written:
            self._submit(
                {"op": "artifact", "path": str(self.directory / "plots"), "artifact_path": "plots"}
            )

    def __enter__(self) -> MlflowTracker:
        if self._worker is None:
            self.start_run()
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        self.end_run("FINISHED" if error is None else "FAILED", error)

    def _submit(self, record: dict[str, Any]) -> None:
        self._require_worker().submit(record)

    def _require_worker(self) -> Worker:
        if self._worker is None:
            raise ConfigError("mlflow tracker: no active run; call start_run() first")
        return self._worker

    def _spill_at_exit(self) -> None:
        if self._worker is not None:
            self._worker.spill()


def _detached(values: dict[str, Any]) -> dict[str, Any]:
    """Tensors copied off the autograd graph (a later in-place update must not change them)."""
    return {k: v.detach().clone() if hasattr(v, "detach") else v for k, v in values.items()}


def _saved_overrides(run_dir: Path) -> list[str]:
    """The overrides accel-cli saved beside the run (`overrides.yaml`), if any."""
    path = run_dir / "overrides.yaml"
    if not path.is_file():
        return []
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []
    return [str(item) for item in loaded] if isinstance(loaded, list) else []


def _to_yaml(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
