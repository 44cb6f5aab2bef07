"""Send what the spool holds to the MLflow server, in order, acknowledging as it goes.

The same code path runs in the background during training and in `accel mlflow sync`, so
the replay that recovers a run after an outage is the one exercised on every step.
Everything sent is idempotent on the server side: metrics are deduplicated by
(key, value, timestamp, step), tags overwrite, params already logged with the same value
are skipped (a changed value becomes an `accel.param_changed.<key>` tag instead of an error).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from accel.mlflow.batch import Batch
from accel.mlflow.columns import metric_rows
from accel.mlflow.limits import DEFAULT_LIMITS, Limits
from accel.mlflow.sanitize import limit_value, sanitize_key
from accel.mlflow.spool import Record, Spool
from accel.mlflow.state import RunState
from accel.mlflow.transient import ServerUnavailable, is_transient

log = logging.getLogger(__name__)

BATCHED_OPS = frozenset({"metrics", "params", "tags"})
LOG_BATCH = "/api/2.0/mlflow/runs/log-batch"


class Replayer:
    """Replays one run directory's spool to its tracking server."""

    def __init__(
        self,
        directory: Path,
        limits: Limits = DEFAULT_LIMITS,
        client: Any = None,
        *,
        root: Path | None = None,
    ):
        """`root`: files a record names are sent only from inside it (a run directory read
        from disk by `accel mlflow sync` may come from someone else: its spool must not make
        accel upload `~/.ssh` to the server its run.json names). None: this process's own."""
        self.root = None if root is None else Path(root).resolve()
        self.directory = Path(directory)
        self.spool = Spool(self.directory)
        self.limits = limits
        self._client = client
        self._known_params: dict[str, str] | None = None

    @property
    def state(self) -> RunState:
        state = RunState.load(self.directory)
        if state is None:
            raise FileNotFoundError(f"{RunState.path(self.directory)}: no accel-mlflow run here")
        return state

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            uri = self.state.tracking_uri
            self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        return self._client

    def replay(self, *, blocking: bool = True) -> int:
        """Send every pending record; return how many. Raise ServerUnavailable to retry later."""
        with self.spool.replaying(blocking=blocking) as held:
            if not held:
                return 0
            pending = self.spool.pending()
            if not pending and self.state.run_id:
                return 0
            run_id = self._call(self.ensure_run)  # a run exists as soon as the server does
            self._send(run_id, pending)
            return len(pending)

    def ensure_run(self) -> str:
        """The run's id, creating the run (and its experiment) on first contact."""
        state = self.state
        if state.run_id:
            return state.run_id
        tags = dict(state.tags)
        parent_id = state.parent_run_id or self._parent_run_id(state)
        if parent_id:
            tags["mlflow.parentRunId"] = parent_id
        experiment_id = state.experiment_id or self._experiment_id(state.experiment)
        run = self.client.create_run(
            experiment_id, start_time=state.start_time, tags=tags, run_name=state.run_name
        )
        state.run_id, state.experiment_id, state.parent_run_id = (
            run.info.run_id,
            experiment_id,
            parent_id,
        )
        state.save(self.directory)
        log.info("accel-mlflow: MLflow run %s at %s", run.info.run_id, state.tracking_uri)
        return run.info.run_id

    def _parent_run_id(self, state: RunState) -> str | None:
        if not state.parent_dir:
            return None
        parent = RunState.load(Path(state.parent_dir))
        if parent is None or not parent.run_id:
            raise ServerUnavailable("the parent run is not on the server yet")
        return parent.run_id

    def _experiment_id(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name))
        except MlflowException:  # created meanwhile by another run
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def _send(self, run_id: str, pending: list[tuple[Record, int]]) -> None:
        batch, done = Batch(self.limits), 0
        members: list[Record] = []
        for record, end in pending:
            if record.get("op") in BATCHED_OPS:
                for kind, key, value in self._entities(run_id, record):
                    if not batch.fits(kind, key, value):
                        self._flush(run_id, batch, members, done)
                        batch, members = Batch(self.limits), [record]
                    batch.add(kind, key, value)
                if not members or members[-1] is not record:
                    members.append(record)
                done = end
                continue
            self._flush(run_id, batch, members, done)
            batch, members = Batch(self.limits), []
            self._run_op(run_id, record)
            self.spool.acknowledge(end)
            done = end
        self._flush(run_id, batch, members, done)

    def _entities(self, run_id: str, record: Record) -> list[tuple[str, str, Any]]:
        op, data = record["op"], record.get("data") or {}
        if op == "metrics":
            return [("metric", k, (v, ts, step)) for k, v, ts, step in metric_rows(data)]
        if op == "tags":
            return [("tag", k, v) for k, v in data.items()]
        return self._new_params(run_id, data)

    def _new_params(self, run_id: str, params: dict[str, str]) -> list[tuple[str, str, Any]]:
        """Params the run does not hold yet; changed values become tags rather than errors."""
        if self._known_params is None:
            run = self._call(self.client.get_run, run_id)
            self._known_params = dict(run.data.params)
        known, out = self._known_params, []
        for key, value in params.items():
            if key not in known:
                out.append(("param", key, value))
            elif known[key] != value:
                tag = sanitize_key(f"accel.param_changed.{key}", self.limits.max_key_length)
                out.append(("tag", tag, limit_value(value, self.limits.max_tag_length)))
        return out

    def _flush(self, run_id: str, batch: Batch, members: list[Record], done: int) -> None:
        if len(batch):
            if not self._try(self._log_batch, run_id, batch):
                for record in members:
                    self.spool.reject(record, "log_batch refused")
            if self._known_params is not None:
                self._known_params.update(batch.params)
        if done:
            self.spool.acknowledge(done)

    def _log_batch(self, run_id: str, batch: Batch) -> None:
        """One `log-batch` request. To an HTTP server it goes as plain JSON through MLflow's
        own REST helper (same auth, TLS and retry settings): the client would build a
        protobuf per metric and convert it back to JSON, about 10 µs of the GIL per metric
        taken from the training thread. Other stores, and non-finite values (not JSON), go
        through the client."""
        creds = self._rest_creds()
        if creds is None or not all(math.isfinite(m[1]) for m in batch.metrics):
            from mlflow.entities import Metric, Param, RunTag

            self.client.log_batch(
                run_id,
                [Metric(k, v, ts, step) for k, v, ts, step in batch.metrics],
                [Param(k, v) for k, v in batch.params.items()],
                [RunTag(k, v) for k, v in batch.tags.items()],
            )
            return
        from mlflow.utils.rest_utils import http_request, verify_rest_response

        body = {
            "run_id": run_id,
            "metrics": [
                {"key": k, "value": v, "timestamp": ts, "step": step}
                for k, v, ts, step in batch.metrics
            ],
            "params": [{"key": k, "value": v} for k, v in batch.params.items()],
            "tags": [{"key": k, "value": v} for k, v in batch.tags.items()],
        }
        response = http_request(creds, LOG_BATCH, "POST", json=body)
        verify_rest_response(response, LOG_BATCH)

    def _rest_creds(self) -> Any:
        """The REST store's host credentials (fresh each call: tokens expire), or None when
        the client is not talking to an HTTP server."""
        store = getattr(getattr(self.client, "_tracking_client", None), "store", None)
        get_creds = getattr(store, "get_host_creds", None)
        return get_creds() if callable(get_creds) else None

    def _run_op(self, run_id: str, record: Record) -> None:
        op = record.get("op")
        if op == "artifact":
            self._artifact(run_id, record)
        elif op == "model":
            self._model(run_id, record)
        elif op == "status":
            self._try(self.client.update_run, run_id, status=record["status"])
        elif op == "end":
            self._try(self.client.set_terminated, run_id, record["status"], record.get("end_time"))
        else:
            self.spool.reject(record, f"unknown op {op!r}")

    def _outside_root(self, record: Record) -> bool:
        """Reject (and say so) a record naming a file outside `root`."""
        path = Path(str(record.get("path", ""))).resolve()
        if self.root is None or path == self.root or self.root in path.parents:
            return False
        reason = (
            f"{path} is outside {self.root}: not sent (pass --trust-file to accel mlflow sync "
            "if you trust this run directory)"
        )
        log.warning("%s", reason)
        self.spool.reject(record, reason)
        return True

    def _artifact(self, run_id: str, record: Record) -> None:
        path = Path(record["path"])
        if self._outside_root(record):
            return
        if not path.exists():
            self.spool.reject(record, f"{path} no longer exists")
            return
        client, folder = self.client, record.get("artifact_path")
        if path.is_dir():
            self._try(client.log_artifacts, run_id, str(path), folder)
        else:
            self._try(client.log_artifact, run_id, str(path), folder)

    def _model(self, run_id: str, record: Record) -> None:
        from accel.mlflow.registry import register_version

        path, name = Path(record["path"]), record["name"]
        if self._outside_root(record):
            return
        if not path.exists():
            self.spool.reject(record, f"{path} no longer exists")
            return
        if not self._try(self.client.log_artifacts, run_id, str(path), f"models/{name}"):
            return
        registered = record.get("registered_name")
        if registered:
            source = f"runs:/{run_id}/models/{name}"
            self._call(register_version, self.client, registered, source, run_id, record)

    def _try(self, function: Any, *args: Any, **kwargs: Any) -> bool:
        """Call; on refused data return False (the caller rejects), on outage raise."""
        try:
            self._call(function, *args, **kwargs)
            return True
        except ServerUnavailable:
            raise
        except Exception as error:
            log.warning("MLflow refused %s: %s", getattr(function, "__name__", function), error)
            return False

    @staticmethod
    def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ServerUnavailable:
            raise
        except Exception as error:
            if is_transient(error):
                raise ServerUnavailable(f"{error}".splitlines()[0][:300]) from error
            raise


def wait_time(failures: int, base: float = 1.0, cap: float = 30.0) -> float:
    """Back-off before the next attempt after `failures` failed ones."""
    return float(min(cap, base * 2 ** max(0, failures - 1)))


def now_ms() -> int:
    return int(time.time() * 1000)
