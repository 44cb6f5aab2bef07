from accel.mlflow.plots import group_curves, plot_metrics


def test_curves_with_the_same_name_share_a_figure():
    groups = group_curves({"train/loss": [(0, 1.0)], "val/loss": [(0, 2.0)], "lr": [(0, 0.1)]})
    assert sorted(groups) == ["loss", "lr"]
    assert sorted(groups["loss"]) == ["train/loss", "val/loss"]


def test_plot_metrics_writes_png_files(tmp_path):
    history = {"train/loss": [(s, 1 / (s + 1)) for s in range(20)], "val/acc": [(0, 0.5)]}
    written = plot_metrics(history, tmp_path)
    assert sorted(p.name for p in written) == ["acc.png", "loss.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_no_metrics_no_plots(tmp_path):
    assert plot_metrics({}, tmp_path) == []
