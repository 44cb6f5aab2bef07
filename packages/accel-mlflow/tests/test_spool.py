import json

from accel.mlflow.spool import REJECTED_NAME, Spool


def test_append_then_pending_returns_records_in_order(tmp_path):
    spool = Spool(tmp_path)
    spool.append([{"op": "a"}, {"op": "b"}])
    spool.append([{"op": "c"}])
    assert [r["op"] for r, _ in spool.pending()] == ["a", "b", "c"]
    assert spool.pending()[-1][1] == spool.size()


def test_acknowledge_moves_the_cursor_and_truncates_when_all_sent(tmp_path):
    spool = Spool(tmp_path)
    spool.append([{"op": "a"}, {"op": "b"}])
    (_, first_end), _ = spool.pending()
    spool.acknowledge(first_end)
    assert [r["op"] for r, _ in spool.pending()] == ["b"]
    spool.acknowledge(spool.size())
    assert spool.size() == 0
    assert spool.cursor() == 0
    assert not spool.has_pending()


def test_a_torn_last_line_is_fenced_off_and_skipped(tmp_path):
    spool = Spool(tmp_path)
    spool.append([{"op": "a"}])
    with open(spool.path, "ab") as handle:
        handle.write(b'{"op": "to')  # a crash in the middle of a write
    assert [r["op"] for r, _ in spool.pending()] == ["a"]
    spool.append([{"op": "b"}])
    assert [r["op"] for r, _ in spool.pending()] == ["a", "b"]


def test_a_cursor_beyond_the_file_counts_as_zero(tmp_path):
    spool = Spool(tmp_path)
    spool.append([{"op": "a"}])
    spool.cursor_path.write_text("99999\n")
    assert spool.cursor() == 0
    assert len(spool.pending()) == 1


def test_reject_keeps_the_record_and_the_reason(tmp_path):
    spool = Spool(tmp_path)
    spool.reject({"op": "artifact"}, "gone")
    line = json.loads((tmp_path / REJECTED_NAME).read_text())
    assert line == {"reason": "gone", "record": {"op": "artifact"}}


def test_only_one_replayer_at_a_time(tmp_path):
    spool = Spool(tmp_path)
    with spool.replaying() as first, spool.replaying(blocking=False) as second:
        assert first
        assert not second
