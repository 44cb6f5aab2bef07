"""Fixtures: tiny real plugin distributions, installed into a temporary site directory."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from accel.core.registry import refresh_all

TESTS = Path(__file__).parent
if str(TESTS) not in sys.path:  # helper modules (core_tiny, core_resume_child) beside the tests
    sys.path.insert(0, str(TESTS))

MakePlugin = Callable[..., Path]


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePlugin]:
    """Install a real distribution (modules + dist-info with entry points) on sys.path.

    This is what an installer leaves on disk, so discovery goes through importlib.metadata
    exactly as for a pip-installed plugin.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def make(
        dist: str,
        entry_points: Mapping[str, Mapping[str, str]],
        modules: Mapping[str, str] | None = None,
        version: str = "0.1.0",
    ) -> Path:
        for module, source in (modules or {}).items():
            path = site / (module.replace(".", "/") + ".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
            created.append(module)
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        sections = [
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items())
            for group, eps in entry_points.items()
        ]
        (info / "entry_points.txt").write_text("\n".join(sections))
        importlib.invalidate_caches()
        refresh_all()
        return site

    yield make
    for module in created:
        sys.modules.pop(module, None)
    refresh_all()


@pytest.fixture
def tiny() -> Iterator[None]:
    """Register `tiny_net` (models) and `tiny_data` (datasets) for the test, then remove them."""
    from core_tiny import TinyData, TinyNet

    from accel.core.registry import registry

    added = [("models", "tiny_net", TinyNet), ("datasets", "tiny_data", TinyData)]
    for kind, name, obj in added:
        registry(kind).add(name, obj, override=True)
    yield
    for kind, name, _ in added:
        registry(kind).remove(name)
