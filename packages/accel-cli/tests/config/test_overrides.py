"""Overrides made safe for Hydra: checkpoint paths quoted, deep nesting refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.config.compose import compose
from accel.cli.config.overrides import prepare_overrides, quote_path_value
from accel.core.errors import ConfigError

CKPT = "runs/2026-01-01/12-00-00/checkpoints/epoch=007-step=0000160"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (f"ckpt={CKPT}", f"ckpt='{CKPT}'"),
        (f"resume={CKPT}", f"resume='{CKPT}'"),
        (f"+checkpoint={CKPT}", f"+checkpoint='{CKPT}'"),
        ("ckpt=it's=here", "ckpt='it\\'s=here'"),
        ("ckpt=runs/x", "ckpt=runs/x"),  # nothing Hydra misreads: as given
        ("resume=last", "resume=last"),
        ("resume=null", "resume=null"),
        ("ckpt=${trainer.run_dir}", "ckpt=${trainer.run_dir}"),
        ("ckpt='a=b'", "ckpt='a=b'"),
        ("seed=1", "seed=1"),
        ("data.ckpt=a=b", "data.ckpt=a=b"),  # only the top-level keys are paths
    ],
)
def test_quote_path_value(override: str, expected: str) -> None:
    assert quote_path_value(override) == expected


@pytest.mark.parametrize("value", [CKPT, "a'b=c", "trailing\\=", "with space=1", "~/x=1"])
def test_quoted_path_composes_to_the_same_string(value: str, tiny_project: Path) -> None:
    assert compose([f"ckpt={value}"]).ckpt == value
    assert compose([f"resume={value}"]).resume == value


def test_deep_nesting_is_refused_before_parsing() -> None:
    deep = "+a=" + "[" * 2000 + "]" * 2000
    with pytest.raises(ConfigError, match=r"nested 2000 levels deep; at most 64 are allowed"):
        prepare_overrides([deep])
    assert prepare_overrides(["+a=" + "[" * 64 + "]" * 64])  # the limit itself is fine
