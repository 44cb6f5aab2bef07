import posixpath
import re

from accel.mlflow.limits import Limits
from accel.mlflow.sanitize import (
    limit_value,
    sanitize_key,
    sanitize_params,
    sanitize_tags,
    short_hash,
)

VALID = re.compile(r"^[/\w.\- :]*$")


def _acceptable(name: str) -> bool:
    return bool(VALID.match(name)) and posixpath.normpath(name) == name and len(name) <= 250


def test_sanitize_key_replaces_characters_mlflow_rejects():
    assert sanitize_key("loss@val[0]!") == "loss_val_0__"
    assert sanitize_key("model.layers.0") == "model.layers.0"


def test_sanitize_key_fixes_path_like_names():
    for key in ("/abs", "a//b", "a/./b", "../up", "trail/", ".", ""):
        assert _acceptable(sanitize_key(key)), key


def test_sanitize_key_bounds_length_with_a_hash():
    long_a, long_b = "k" * 300 + "a", "k" * 300 + "b"
    a, b = sanitize_key(long_a), sanitize_key(long_b)
    assert len(a) == 250
    assert _acceptable(a)
    assert a != b
    assert a.endswith(short_hash(long_a))


def test_limit_value_keeps_short_values_untouched():
    assert limit_value("x" * 10, 10) == "x" * 10


def test_limit_value_truncates_with_marker_length_and_hash():
    value = "v" * 7000
    limited = limit_value(value, 6000)
    assert len(limited) == 6000
    assert "[truncated 7000 chars, sha256 " + short_hash(value, 16) + "]" in limited
    assert limited.startswith("v" * 100)


def test_sanitize_params_keeps_colliding_keys_apart():
    params = sanitize_params({"a:b": 1, "a_b": 2, "a b": 3}, Limits())
    assert len(params) == 3
    assert all(_acceptable(k) for k in params)
    assert sorted(params.values()) == ["1", "2", "3"]


def test_sanitize_params_respects_a_small_server_limit():
    params = sanitize_params({"x": "y" * 600}, Limits(max_param_length=500))
    assert len(params["x"]) == 500


def test_sanitize_tags_uses_the_tag_limit():
    tags = sanitize_tags({"note!": "t" * 9000})
    assert list(tags) == ["note_"]
    assert len(tags["note_"]) == 8000
