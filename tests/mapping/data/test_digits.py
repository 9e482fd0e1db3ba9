"""Tests of mapping.data.digits: shapes, value range and the stratified split of the digits set."""

from __future__ import annotations

import numpy as np
import pytest

from crossbar.errors import ConfigError
from mapping.data import _stratified_split, load_digits

_N_DIGITS = 1797
_DIGITS_PER_CLASS = np.array([178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
"""Class sizes of scikit-learn's digits (sum 1797)."""


@pytest.fixture(scope="module")
def digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    return bunch.images.astype(np.float64), bunch.target.astype(np.int64)


def test_digits_shapes_dtypes_and_range():
    ds = load_digits()
    assert ds.name == "digits" and ds.n_classes == 10 and "load_digits" in ds.source
    assert ds.x_train.shape == (1346, 1, 8, 8) and ds.x_test.shape == (451, 1, 8, 8)
    assert ds.y_train.shape == (1346,) and ds.y_test.shape == (451,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert (ds.n_train, ds.n_test, ds.sample_shape) == (1346, 451, (1, 8, 8))
    for x in (ds.x_train, ds.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        # values are the original 0..16 counts divided by 16, exactly representable in float32
        np.testing.assert_array_equal(x * 16, np.rint(x * 16))


def test_digits_split_is_stratified_by_the_documented_rule():
    ds = load_digits(test_fraction=0.25)
    n_test = np.floor(0.25 * _DIGITS_PER_CLASS + 0.5).astype(np.int64)
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), n_test)
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), _DIGITS_PER_CLASS - n_test)
    half = load_digits(test_fraction=0.5)
    np.testing.assert_array_equal(
        np.bincount(half.y_test, minlength=10), np.floor(0.5 * _DIGITS_PER_CLASS + 0.5).astype(np.int64)
    )


def test_digits_split_covers_every_sample_once(digits_raw):
    images, labels = digits_raw
    train_idx, test_idx = _stratified_split(labels, test_fraction=0.25, seed=0)
    assert np.intersect1d(train_idx, test_idx).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(_N_DIGITS))
    # and the public loader returns exactly those samples, in file order within each split
    ds = load_digits(test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(ds.x_train[:, 0] * 16, images[train_idx])
    np.testing.assert_array_equal(ds.x_test[:, 0] * 16, images[test_idx])
    np.testing.assert_array_equal(ds.y_train, labels[train_idx])
    np.testing.assert_array_equal(ds.y_test, labels[test_idx])


def test_digits_split_is_deterministic_per_seed(seed):
    a, b = load_digits(seed=seed), load_digits(seed=seed)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = load_digits(seed=seed + 1)
    labels = np.concatenate([a.y_train, a.y_test])
    idx_a = _stratified_split(labels, test_fraction=0.25, seed=seed)[1]
    idx_c = _stratified_split(labels, test_fraction=0.25, seed=seed + 1)[1]
    assert not np.array_equal(idx_a, idx_c)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"test_fraction": -0.1}, "test_fraction"),
        ({"test_fraction": True}, "test_fraction"),
        ({"test_fraction": "0.25"}, "test_fraction"),
        ({"test_fraction": 1e-4}, "test split empty"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_digits_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_digits(**kwargs)
