import pytest

from accel.core.errors import ConfigError
from accel.mlflow.lifecycle import error_tags, resolve_status


def test_keyboard_interrupt_is_killed():
    assert resolve_status("FAILED", KeyboardInterrupt())[0] == "KILLED"


def test_the_exception_being_handled_becomes_the_error():
    try:
        raise ValueError("boom")
    except ValueError:
        status, error = resolve_status("failed", None)
    assert status == "FAILED"
    assert isinstance(error, ValueError)


def test_unknown_status_names_the_valid_ones():
    with pytest.raises(
        ConfigError, match=r"unknown status 'DONE'; valid: FINISHED, FAILED, KILLED"
    ):
        resolve_status("DONE", None)


def test_error_tags_hold_type_message_and_traceback():
    try:
        raise RuntimeError("out of memory")
    except RuntimeError as error:
        tags = error_tags(error)
    assert tags["accel.error"] == "RuntimeError: out of memory"
    assert "raise RuntimeError" in tags["accel.error.traceback"]
    assert error_tags(None) == {}
