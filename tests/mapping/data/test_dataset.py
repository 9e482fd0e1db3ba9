"""Tests of the mapping.data Dataset container: flattening, immutability and field checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crossbar.errors import ConfigError, InputError, ShapeError
from mapping.data import Dataset


def _toy(**overrides) -> Dataset:
    fields = dict(
        x_train=np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) / 24,
        y_train=np.array([0, 2]),
        x_test=np.zeros((1, 3, 2, 2), np.float32),
        y_test=np.array([1]),
        n_classes=3,
        name="toy",
        source="test",
    )
    fields.update(overrides)
    return Dataset(**fields)


def test_flat_is_a_c_order_copy():
    ds = _toy()
    flat = ds.flat()
    assert flat.x_train.shape == (2, 12) and flat.x_test.shape == (1, 12) and flat.sample_shape == (12,)
    c, r, col = 2, 1, 0
    np.testing.assert_array_equal(flat.x_train[:, c * 4 + r * 2 + col], ds.x_train[:, c, r, col])
    flat.x_train[:] = -1.0
    flat.y_train[:] = 0
    assert ds.x_train.min() >= 0.0 and ds.y_train[1] == 2  # the original is untouched
    assert (flat.name, flat.source, flat.n_classes) == (ds.name, ds.source, ds.n_classes)
    assert flat.flat().x_train.shape == (2, 12)


def test_dataset_is_frozen():
    ds = _toy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"x_train": np.zeros((2, 3, 2, 2))}, InputError, "x_train must be a float32"),
        ({"y_test": np.array([1], dtype=np.int32)}, InputError, "y_test must be an int64"),
        ({"y_train": [0, 2]}, InputError, "y_train must be an int64"),
        ({"y_train": np.array([0, 3])}, InputError, r"\[0, 3\)"),
        ({"y_test": np.array([-1])}, InputError, "y_test must lie in"),
        ({"y_train": np.array([0, 1, 2])}, ShapeError, "same number of samples"),
        ({"y_train": np.zeros((2, 1), np.int64)}, ShapeError, "1-D"),
        ({"x_test": np.zeros(1, np.float32)}, ShapeError, "x_test"),
        ({"x_test": np.zeros((1, 3, 2, 3), np.float32)}, ShapeError, "same sample shape"),
        ({"n_classes": 0}, ConfigError, "n_classes"),
        ({"n_classes": 3.0}, ConfigError, "n_classes"),
    ],
)
def test_dataset_rejects_inconsistent_fields(overrides, error, match):
    with pytest.raises(error, match=match):
        _toy(**overrides)


def test_split_validation_partitions_the_training_split_by_class():
    r = np.random.default_rng(0)
    y = np.repeat(np.arange(4), [10, 7, 1, 22])
    r.shuffle(y)
    x = (np.arange(y.size, dtype=np.float32) / y.size).reshape(-1, 1)  # sample i is identified by x[i]
    ds = _toy(x_train=x, y_train=y, x_test=np.zeros((3, 1), np.float32), y_test=np.array([0, 1, 2]), n_classes=4)
    val = ds.split_validation(0.3, seed=5)
    ids = lambda xs: np.rint(xs[:, 0] * y.size).astype(int)  # noqa: E731
    keep, held = ids(val.x_train), ids(val.x_test)
    assert np.intersect1d(keep, held).size == 0 and np.array_equal(np.sort(np.r_[keep, held]), np.arange(y.size))
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(held) > 0)  # both keep the training order
    np.testing.assert_array_equal(val.y_train, y[keep])
    np.testing.assert_array_equal(val.y_test, y[held])
    for k, n_k in enumerate([10, 7, 1, 22]):  # floor(0.3 n_k + 0.5) of each class held out
        assert int(np.sum(val.y_test == k)) == int(np.floor(0.3 * n_k + 0.5))
    np.testing.assert_array_equal(ds.split_validation(0.3, seed=5).x_test, val.x_test)
    assert not np.array_equal(ds.split_validation(0.3, seed=6).x_test, val.x_test)
    assert "validation fraction=0.3, seed=5" in val.source and ds.n_test == 3  # the test split is not used


@pytest.mark.parametrize(("fraction", "split_seed", "match"), [
    (0.0, 0, r"fraction must be a number in the open interval \(0, 1\); got 0.0"),
    (1, 0, "got 1"), (True, 0, "got True"), (0.2, -1, "seed must be an int >= 0; got -1"),
    (0.01, 0, "leaves the validation part empty")])
def test_split_validation_rejects_bad_arguments(fraction, split_seed, match):
    with pytest.raises(ConfigError, match=match):
        _toy().split_validation(fraction, seed=split_seed)
