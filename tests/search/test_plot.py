"""Figures: Pareto masks and that every figure is written as PNG + PDF with the expected content."""

from __future__ import annotations

import numpy as np

from search.plot import hypervolume_vs_cost, pairwise_fronts, parallel_coordinates, pareto_mask


def test_pareto_mask_by_hand():
    F = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
    np.testing.assert_array_equal(pareto_mask(F), [True, True, False, True])
    assert pareto_mask(np.zeros((0, 2))).shape == (0,)


def test_figures_are_written(tmp_path):
    r = np.random.default_rng(0)
    F = r.random((30, 4))
    paths = pairwise_fronts(F, ["-acc", "area", "energy", "latency"], tmp_path / "fronts",
                            transforms={0: ("accuracy [%]", -100.0)}, title="t")
    paths += hypervolume_vs_cost({"a": [(np.arange(1, 6.0), np.linspace(0, 1, 5))] * 3,
                                  "b": [(np.arange(1, 4.0), np.linspace(0, 0.5, 3))]}, tmp_path / "hv")
    paths += parallel_coordinates({"rows": r.integers(32, 256, 10), "adc": r.integers(3, 10, 10),
                                   "acc": r.random(10)}, tmp_path / "pc", color_by="acc")
    assert [p.suffix for p in paths] == [".png", ".pdf"] * 3
    assert all(p.stat().st_size > 5_000 for p in paths)


def test_parallel_coordinates_takes_categorical_columns(tmp_path):
    """A Choice of strings (e.g. differential_adc) is an axis of its sorted levels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = np.array(["subtract", "separate", "subtract", "separate"], dtype=object)
    saved = {}
    real_save = plt.Figure.savefig

    def keep(fig, *args, **kw):  # record the axes before the figure is closed
        ax = fig.axes[0]
        saved["ticks"] = [t.get_text() for t in ax.get_xticklabels()]
        saved["ys"] = [line.get_ydata().tolist() for line in ax.get_lines()]
        return real_save(fig, *args, **kw)

    plt.Figure.savefig = keep
    try:
        paths = parallel_coordinates({"mode": modes, "acc": np.array([0.9, 0.8, 0.7, 0.6])}, tmp_path / "pc",
                                     color_by="acc")
    finally:
        plt.Figure.savefig = real_save
    assert all(p.stat().st_size > 3_000 for p in paths)
    assert saved["ticks"][0] == "mode\n{separate, subtract}"
    assert [ys[0] for ys in saved["ys"]] == [1.0, 0.0, 1.0, 0.0]  # "subtract" on top, "separate" at 0
