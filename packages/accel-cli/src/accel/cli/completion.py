"""Shell completion of overrides: `model=<TAB>` lists the group's options (files + registry).

Install with `accel --install-completion`. Reads file names and entry-point metadata only.
"""

from __future__ import annotations

from pathlib import Path

from accel.cli.config.groups import GROUP_KINDS, GROUPS


def complete_override(incomplete: str) -> list[str]:
    """Candidates for one override being typed."""
    key, sep, value = incomplete.partition("=")
    if not sep:
        return [f"{g}=" for g in GROUPS if g.startswith(incomplete)]
    if key not in GROUPS:
        return []
    return [f"{key}={o}" for o in group_option_names(key) if o.startswith(value)]


def group_option_names(group: str, cwd: Path | None = None) -> list[str]:
    """Option names of a group: packaged and project YAML files, then registry names."""
    from accel.cli.config.compose import file_options, project_dir

    names = set(file_options(group, project_dir(cwd)))
    kind = GROUP_KINDS.get(group)
    if kind is not None and group != "callbacks":
        from accel.core.registry import registry

        names.update(registry(kind).names())
    return sorted(names)
