"""Which accel packages are installed, read from package metadata (nothing imported)."""

from __future__ import annotations

from importlib.metadata import distributions


def installed_accel_versions() -> dict[str, str]:
    """`{distribution: version}` for every installed `accel-*` distribution, sorted by name."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().startswith("accel-") and name.lower() != "accel-workspace":
            found.setdefault(name, dist.version)
    return dict(sorted(found.items()))
