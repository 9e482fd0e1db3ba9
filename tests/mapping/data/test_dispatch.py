"""Tests of mapping.data.dispatch: load_dataset picks the loader and rejects bad requests."""

from __future__ import annotations

import numpy as np
import pytest
from _format_writers import _write_cifar, _write_mnist

from crossbar.errors import ConfigError
from mapping.data import DATASET_NAMES, load_dataset, load_digits


def test_load_dataset_dispatches(tmp_path, mnist_arrays, cifar_batches):
    assert DATASET_NAMES == ("digits", "mnist", "cifar10")
    digits = load_dataset("digits", seed=3)
    np.testing.assert_array_equal(digits.y_test, load_digits(seed=3).y_test)
    small = load_dataset("digits", limit=10)
    assert (small.n_train, small.n_test) == (10, 10)
    np.testing.assert_array_equal(small.x_train, load_digits().x_train[:10])
    (tmp_path / "mnist").mkdir()
    _write_mnist(tmp_path / "mnist", mnist_arrays)
    assert load_dataset("mnist", directory=tmp_path / "mnist", limit=4).n_train == 4
    _write_cifar(tmp_path / "cifar", cifar_batches)
    assert load_dataset("cifar10", directory=tmp_path / "cifar").x_test.shape == (4, 3, 32, 32)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("imagenet", {}, "must be one of"),
        ("MNIST", {"directory": "."}, "lower-case"),
        ("mnist", {}, "needs directory"),
        ("cifar10", {"limit": 5}, "needs directory"),
        ("digits", {"directory": "."}, "must be None for 'digits'"),
        ("digits", {"limit": 0}, "limit"),
    ],
)
def test_load_dataset_rejects_bad_requests(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset(name, **kwargs)
