"""CIFAR-10 read from its "python version" pickled batches with a restricted unpickler.

Nothing is downloaded, and a tampered batch cannot run code: the unpickler only resolves the few
NumPy names a CIFAR-10 batch refers to.

Reference:
    A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", tech. report,
    University of Toronto, 2009 ("python version" batches from
    https://www.cs.toronto.edu/~kriz/cifar.html).
"""

from __future__ import annotations

import codecs
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from crossbar.errors import InputError

from ._dataset import _NO_DOWNLOAD, Dataset, _check_directory, _check_limit, _limited_source

__all__ = ["load_cifar10"]

_CIFAR_SUBFOLDER = "cifar-10-batches-py"
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"
_CIFAR_SIDE = 32
_CIFAR_CHANNELS = 3


def load_cifar10(directory: str | os.PathLike[str], *, limit: int | None = None) -> Dataset:
    """Read CIFAR-10 from the "python version" pickled batches in ``directory``.

    The files ``data_batch_1`` .. ``data_batch_5`` (training, in this order) and ``test_batch``
    are looked up in ``directory`` and, if it holds none of them, in its ``cifar-10-batches-py``
    subfolder (the layout of the extracted ``cifar-10-python.tar.gz``). Each is a pickled dict
    with ``b"data"``, a uint8 array of shape `(n, 3072)` whose rows are the R, G and B planes of
    a 32x32 image, each plane row-major, and ``b"labels"``, a list of n ints in ``0..9``. So
    ``data[i, c * 1024 + r * 32 + col]`` becomes ``x[i, c, r, col]``.

    The batches are unpickled with a restricted unpickler (``encoding="bytes"``) that only
    resolves the few NumPy names a CIFAR batch refers to, so a tampered file cannot run code.
    Nothing is downloaded.

    Args:
        directory: Folder that holds the batches, or their ``cifar-10-batches-py`` subfolder.
        limit: If given, keep only the first ``limit`` samples of each split (an int >= 1).

    Returns:
        A :class:`Dataset` named ``"cifar10"`` with ``x_*`` of shape `(n, 3, 32, 32)` (float32,
        pixel / 255, in [0, 1]), labels in ``0..9`` and ``n_classes = 10`` (50000 training and
        10000 test samples for the full files).

    Raises:
        ConfigError: If ``limit`` is not None or an int >= 1, or ``directory`` is not path-like.
        InputError: If the directory or a batch file is missing, or a batch is malformed (not a
            pickle of a dict, missing ``b"data"`` or ``b"labels"``, data not uint8 of shape
            `(n, 3072)`, a label count that differs from n, labels outside ``0..9``). The
            message names the file and what was wrong.

    Example:
        >>> ds = load_cifar10("~/data/cifar-10-batches-py", limit=500)  # doctest: +SKIP
        >>> ds.x_train.shape, ds.n_classes  # doctest: +SKIP
        ((500, 3, 32, 32), 10)
    """
    limit = _check_limit(limit, "load_cifar10")
    root = _check_directory(directory, "load_cifar10")
    names = (*_CIFAR_TRAIN, _CIFAR_TEST)
    folder = root
    for candidate in (root, root / _CIFAR_SUBFOLDER):
        if any((candidate / name).is_file() for name in names):
            folder = candidate
            break
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise InputError(
            f"load_cifar10: {str(folder)!r} lacks {', '.join(missing)} (also looked in its "
            f"{_CIFAR_SUBFOLDER} subfolder). Expected the CIFAR-10 python-version batches "
            f"{', '.join(names)} from cifar-10-python.tar.gz "
            f"(https://www.cs.toronto.edu/~kriz/cifar.html), extracted. Download CIFAR-10 yourself "
            f"and pass its directory; {_NO_DOWNLOAD}."
        )

    train = [_read_cifar_batch(folder / name) for name in _CIFAR_TRAIN]
    x_train = np.concatenate([data for data, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    x_test, y_test = _read_cifar_batch(folder / _CIFAR_TEST)
    if limit is not None:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]

    def to_images(data: np.ndarray) -> np.ndarray:
        shape = (data.shape[0], _CIFAR_CHANNELS, _CIFAR_SIDE, _CIFAR_SIDE)
        return (data.astype(np.float32) / np.float32(255.0)).reshape(shape)

    return Dataset(
        x_train=to_images(x_train),
        y_train=y_train,
        x_test=to_images(x_test),
        y_test=y_test,
        n_classes=10,
        name="cifar10",
        source=_limited_source(
            f"CIFAR-10 (Krizhevsky, Learning Multiple Layers of Features from Tiny Images, tech. "
            f"report, University of Toronto, 2009) python-version batches read from {str(folder)!r}",
            limit,
        ),
    )


def _numpy_pickle_names() -> dict[tuple[str, str], Any]:
    """The globals a pickled uint8 ndarray may refer to, under old and new NumPy module names."""
    try:
        from numpy._core import multiarray, numeric  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray, numeric
    names: dict[tuple[str, str], Any] = {("_codecs", "encode"): codecs.encode}
    for package in ("numpy.core", "numpy._core"):
        names[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        names[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    names[("numpy", "ndarray")] = np.ndarray
    names[("numpy", "dtype")] = np.dtype
    return names


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the NumPy names a CIFAR-10 batch needs."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _numpy_pickle_names()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}; a CIFAR-10 batch only holds a dict of "
                f"bytes, lists and uint8 arrays"
            )
        return allowed[(module, name)]


_UNPICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    UnicodeDecodeError,
)
"""What unpickling a corrupt or foreign file can raise (pickle documents no single type)."""


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Unpickle and check one batch; returns uint8 data `(n, 3072)` and int64 labels `(n,)`."""
    with path.open("rb") as f:
        try:
            batch = _BatchUnpickler(f, encoding="bytes").load()
        except _UNPICKLE_ERRORS as exc:
            raise InputError(
                f"load_cifar10: {str(path)!r} is not a readable CIFAR-10 python-version batch "
                f"({type(exc).__name__}: {exc}). Re-extract cifar-10-python.tar.gz."
            ) from exc
    if not isinstance(batch, dict):
        raise InputError(
            f"load_cifar10: {str(path)!r} holds a pickled {type(batch).__name__}; a CIFAR-10 batch is "
            f"a dict with keys b'data' and b'labels'."
        )
    absent = [repr(key) for key in (b"data", b"labels") if key not in batch]
    if absent:
        raise InputError(
            f"load_cifar10: {str(path)!r} lacks the key(s) {', '.join(absent)}; found "
            f"{sorted(repr(k) for k in batch)}. Is it the python version (not the MATLAB or binary one)?"
        )
    data = batch[b"data"]
    n_pixels = _CIFAR_CHANNELS * _CIFAR_SIDE * _CIFAR_SIDE
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise InputError(
            f"load_cifar10: {str(path)!r} has b'data' of type "
            f"{getattr(data, 'dtype', type(data).__name__)}; expected a uint8 numpy array."
        )
    if data.ndim != 2 or data.shape[1] != n_pixels:
        raise InputError(
            f"load_cifar10: {str(path)!r} has b'data' of shape {data.shape}; expected (n, {n_pixels}) "
            f"(3 colour planes of {_CIFAR_SIDE}x{_CIFAR_SIDE})."
        )
    raw_labels = batch[b"labels"]
    try:
        labels = np.asarray(raw_labels)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise InputError(
            f"load_cifar10: {str(path)!r} has b'labels' that are not a flat list of ints."
        ) from exc
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise InputError(
            f"load_cifar10: {str(path)!r} has b'labels' of dtype {labels.dtype} and shape {labels.shape}; "
            f"expected a flat list of ints."
        )
    if labels.shape[0] != data.shape[0]:
        raise InputError(
            f"load_cifar10: {str(path)!r} holds {data.shape[0]} images but {labels.shape[0]} labels; "
            f"the counts must match."
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise InputError(
            f"load_cifar10: {str(path)!r} holds labels outside 0..9 (range {int(labels.min())}.."
            f"{int(labels.max())}). Is it CIFAR-100 rather than CIFAR-10?"
        )
    return data, labels.astype(np.int64)
