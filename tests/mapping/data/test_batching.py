"""Tests of mapping.data.batching: batches covers every sample, in order or shuffled per epoch."""

from __future__ import annotations

import numpy as np
import pytest

from crossbar.errors import ConfigError, ShapeError
from mapping.data import batches


def _xy(n: int = 23) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3), np.arange(n)


def test_batches_in_order_are_views_covering_everything():
    x, y = _xy()
    got = list(batches(x, y, batch_size=5))
    assert [len(yb) for _, yb in got] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), y)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), x)
    assert all(np.shares_memory(xb, x) for xb, _ in got)


def test_batches_shuffled_cover_each_sample_once_per_epoch(rng):
    x, y = _xy()
    for _ in range(3):  # several epochs from one generator
        got = list(batches(x, y, batch_size=4, rng=rng))
        assert [len(yb) for _, yb in got] == [4, 4, 4, 4, 4, 3]
        seen = np.concatenate([yb for _, yb in got])
        np.testing.assert_array_equal(np.sort(seen), y)
        for xb, yb in got:  # pairs stay aligned
            np.testing.assert_array_equal(xb, x[yb])


def test_batches_are_deterministic_per_seed(seed):
    x, y = _xy(50)

    def order(s: int, epochs: int = 2) -> np.ndarray:
        gen = np.random.default_rng(s)
        return np.concatenate([yb for _ in range(epochs) for _, yb in batches(x, y, batch_size=7, rng=gen)])

    np.testing.assert_array_equal(order(seed), order(seed))
    assert not np.array_equal(order(seed), order(seed + 1))
    first, second = order(seed)[:50], order(seed)[50:]
    assert not np.array_equal(first, second)  # each epoch draws a fresh permutation


def test_batches_edge_sizes():
    x, y = _xy(3)
    assert [len(yb) for _, yb in batches(x, y, batch_size=10)] == [3]
    assert list(batches(x[:0], y[:0], batch_size=2)) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ConfigError, "batch_size"),
        ({"batch_size": -2}, ConfigError, "batch_size"),
        ({"batch_size": 2.0}, ConfigError, "batch_size"),
        ({"batch_size": True}, ConfigError, "batch_size"),
        ({"batch_size": 2, "rng": 0}, ConfigError, "Generator"),
        ({"batch_size": 2, "rng": np.random.RandomState(0)}, ConfigError, "Generator"),
    ],
)
def test_batches_rejects_bad_arguments_at_call_time(kwargs, error, match):
    x, y = _xy()
    with pytest.raises(error, match=match):
        batches(x, y, **kwargs)  # no next(): errors must not wait for iteration


def test_batches_rejects_mismatched_lengths():
    x, y = _xy()
    with pytest.raises(ShapeError, match="leading"):
        batches(x, y[:-1], batch_size=2)
    with pytest.raises(ShapeError, match="leading"):
        batches(np.float32(1.0), y, batch_size=2)
