"""Fixtures shared by the MNIST, CIFAR-10 and load_dataset tests: the arrays the writers store."""

from __future__ import annotations

import numpy as np
import pytest
from _format_writers import _CIFAR_FILES, _PER_BATCH


@pytest.fixture
def mnist_arrays(rng) -> dict[str, np.ndarray]:
    """5 training and 3 test 28x28 images with labels; both pixel extremes occur."""
    train = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    train[0, 0, 0], train[4, 27, 27], test[2, 13, 7] = 0, 255, 255
    return {
        "train_images": train,
        "train_labels": np.array([7, 0, 9, 3, 3], np.uint8),
        "test_images": test,
        "test_labels": np.array([9, 1, 0], np.uint8),
    }


@pytest.fixture
def cifar_batches(rng) -> dict[str, dict[bytes, object]]:
    """Six batches of 4 random images; batch ``k`` holds labels ``(k + j) % 10``."""
    out = {}
    for k, name in enumerate(_CIFAR_FILES):
        data = rng.integers(0, 256, size=(_PER_BATCH, 3072), dtype=np.uint8)
        out[name] = {
            b"batch_label": name.encode(),
            b"data": data,
            b"labels": [(k + j) % 10 for j in range(_PER_BATCH)],
            b"filenames": [f"img_{k}_{j}.png".encode() for j in range(_PER_BATCH)],
        }
    return out
