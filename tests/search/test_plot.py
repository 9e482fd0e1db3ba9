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
