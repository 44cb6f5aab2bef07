"""The config groups and the registry kind behind each one."""

from __future__ import annotations

# Config group -> registry kind whose names are valid `name:` values in that group.
GROUP_KINDS: dict[str, str | None] = {
    "model": "models",
    "data": "datasets",
    "optimizer": "optimizers",
    "scheduler": "schedulers",
    "loss": "losses",
    "callbacks": "callbacks",
    "trainer": None,
    "tracker": "trackers",
    "compress": "passes",
    "pipeline": None,
}
GROUPS: tuple[str, ...] = tuple(GROUP_KINDS)

# Groups whose config is one component spec (`{name: ..., **kwargs}` or `{_target_: ...}`).
COMPONENT_GROUPS: tuple[str, ...] = ("model", "data", "optimizer", "scheduler", "loss", "tracker")

# Top-level keys a composed config may hold.
TOP_LEVEL_KEYS: tuple[str, ...] = (
    *GROUPS, "seed", "metrics", "ckpt", "resume", "threads", "weights"
)  # fmt: skip

PRIMARY_PACKAGED = "accel"
PRIMARY_PROJECT = "main"
