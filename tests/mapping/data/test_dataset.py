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
