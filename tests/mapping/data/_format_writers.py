"""Writers of tiny MNIST IDX and CIFAR-10 batch files for the mapping.data tests.

MNIST and CIFAR-10 are never downloaded in the tests: tiny files in the real formats are written
to ``tmp_path`` by these writers and read back, so the loaders' parsing and pixel layout are
checked exactly and the malformed-file cases are cheap. Imported by name (``from _format_writers
import ...``): the tests directories have no ``__init__.py``, so pytest puts this directory on
``sys.path``; the basename must stay unique in the test tree.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

_MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _idx_bytes(array: np.ndarray, *, magic: bytes | None = None) -> bytes:
    """Encode a uint8 array in the IDX format (big-endian int32 dimensions)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    return header + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


def _write(path: Path, payload: bytes, *, gz: bool) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _write_mnist(directory: Path, arrays: dict[str, np.ndarray], *, gz: tuple[str, ...] = ()) -> None:
    for key, name in _MNIST_NAMES.items():
        _write(directory / name, _idx_bytes(arrays[key]), gz=key in gz)


_CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
_PER_BATCH = 4


def _write_batch(path: Path, batch: object, *, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=protocol)


def _write_cifar(directory: Path, batches_: dict[str, dict[bytes, object]], *, protocol: int = 4) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, batch in batches_.items():
        _write_batch(directory / name, batch, protocol=protocol)
