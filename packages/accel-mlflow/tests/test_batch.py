from accel.mlflow.batch import Batch
from accel.mlflow.limits import Limits


def _fill(batch: Batch, kind: str, count: int, value: object = "v") -> int:
    added = 0
    for i in range(count):
        if not batch.fits(kind, f"k{i}", value):
            break
        batch.add(kind, f"k{i}", value)
        added += 1
    return added


def test_batch_holds_at_most_1000_metrics():
    assert _fill(Batch(Limits()), "metric", 1500, (1.0, 0, 0)) == 1000


def test_batch_holds_at_most_100_params_and_100_tags():
    batch = Batch(Limits())
    assert _fill(batch, "param", 150) == 100
    assert _fill(batch, "tag", 150) == 100


def test_batch_total_is_bounded_across_kinds():
    batch = Batch(Limits(max_entities_per_batch=150))
    assert _fill(batch, "param", 100) == 100
    assert _fill(batch, "metric", 100, (1.0, 0, 0)) == 50
    assert len(batch) == 150


def test_batch_stays_under_the_request_size():
    batch = Batch(Limits())
    added = _fill(batch, "param", 100, "x" * 6000) + _fill(batch, "tag", 100, "y" * 8000)
    assert batch.size <= 900_000
    assert added < 200
