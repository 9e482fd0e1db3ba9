"""MNIST read from its four IDX files (plain or gzip-compressed); nothing is downloaded.

Reference:
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to document
    recognition", Proc. IEEE 86(11):2278-2324, 1998. IDX format described at
    http://yann.lecun.com/exdb/mnist/.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from crossbar.errors import InputError

from ._dataset import _NO_DOWNLOAD, Dataset, _check_directory, _check_limit, _limited_source

__all__ = ["load_mnist"]

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MNIST_SIDE = 28
_IDX_UINT8 = 0x08


def load_mnist(directory: str | os.PathLike[str], *, limit: int | None = None) -> Dataset:
    """Read MNIST from the four standard IDX files in ``directory``.

    The files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte`` are looked up in ``directory``, each either as is or
    gzip-compressed with a ``.gz`` suffix (the uncompressed file wins when both exist). The IDX
    format is parsed here: two zero bytes, the dtype code ``0x08`` (uint8), the number of
    dimensions, one big-endian int32 per dimension, then the data in C order. Nothing is
    downloaded.

    Args:
        directory: Folder that holds the MNIST files.
        limit: If given, keep only the first ``limit`` samples of each split (an int >= 1).

    Returns:
        A :class:`Dataset` named ``"mnist"`` with ``x_*`` of shape `(n, 1, 28, 28)` (float32,
        pixel / 255, in [0, 1]), labels in ``0..9`` and ``n_classes = 10`` (60000 training and
        10000 test samples for the full files).

    Raises:
        ConfigError: If ``limit`` is not None or an int >= 1, or ``directory`` is not path-like.
        InputError: If the directory or a file is missing, or a file is malformed (wrong magic
            number, dtype or number of dimensions, truncated or with trailing bytes, images not
            28x28, image and label counts that differ, labels outside ``0..9``). The message
            names the file and what was wrong.

    Example:
        >>> ds = load_mnist("~/data/mnist", limit=1000)  # doctest: +SKIP
        >>> ds.x_train.shape, ds.x_test.shape  # doctest: +SKIP
        ((1000, 1, 28, 28), (1000, 1, 28, 28))
    """
    limit = _check_limit(limit, "load_mnist")
    folder = _check_directory(directory, "load_mnist")
    paths: dict[str, Path] = {}
    missing: list[str] = []
    for key, stem in _MNIST_FILES.items():
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                paths[key] = candidate
                break
        else:
            missing.append(stem)
    if missing:
        raise InputError(
            f"load_mnist: directory {str(folder)!r} lacks {', '.join(missing)} (nor a .gz version). "
            f"Expected the four MNIST IDX files {', '.join(_MNIST_FILES.values())}, each as is or "
            f"gzip-compressed with a .gz suffix (http://yann.lecun.com/exdb/mnist/). Download MNIST "
            f"yourself and pass its directory; {_NO_DOWNLOAD}."
        )

    splits = {}
    for split in ("train", "test"):
        images = _read_idx(paths[f"{split}_images"], n_dims=3)
        labels = _read_idx(paths[f"{split}_labels"], n_dims=1)
        image_path, label_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        if images.shape[1:] != (_MNIST_SIDE, _MNIST_SIDE):
            raise InputError(
                f"load_mnist: {str(image_path)!r} holds images of {images.shape[1]}x{images.shape[2]} "
                f"pixels; MNIST images are {_MNIST_SIDE}x{_MNIST_SIDE}. Is it the right file?"
            )
        if images.shape[0] != labels.shape[0]:
            raise InputError(
                f"load_mnist: {str(image_path)!r} holds {images.shape[0]} images but "
                f"{str(label_path)!r} holds {labels.shape[0]} labels; the counts must match. Are the "
                f"files from the same split and release?"
            )
        if labels.size and labels.max() > 9:
            raise InputError(
                f"load_mnist: {str(label_path)!r} holds labels outside 0..9 (max {int(labels.max())}). "
                f"Is it an MNIST label file?"
            )
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        x = (images.astype(np.float32) / np.float32(255.0)).reshape(
            images.shape[0], 1, _MNIST_SIDE, _MNIST_SIDE
        )
        splits[split] = (x, labels.astype(np.int64))

    return Dataset(
        x_train=splits["train"][0],
        y_train=splits["train"][1],
        x_test=splits["test"][0],
        y_test=splits["test"][1],
        n_classes=10,
        name="mnist",
        source=_limited_source(
            f"MNIST (LeCun, Bottou, Bengio & Haffner, Proc. IEEE 86(11):2278-2324, 1998) IDX files "
            f"read from {str(folder)!r}",
            limit,
        ),
    )


def _read_bytes(path: Path) -> bytes:
    """Whole file content, gunzipped when the name ends in ``.gz``."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:  # BadGzipFile is an OSError; a cut stream is an EOFError
        raise InputError(
            f"{str(path)!r} is not a valid gzip file ({exc}). Hint: re-download it, or gunzip it and "
            f"pass the uncompressed file."
        ) from exc


def _read_idx(path: Path, *, n_dims: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes with ``n_dims`` dimensions; returns a uint8 array."""
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise InputError(
            f"{str(path)!r} is truncated: {len(raw)} bytes, shorter than the 4-byte IDX magic number."
        )
    if raw[0] != 0 or raw[1] != 0:
        raise InputError(
            f"{str(path)!r} has a wrong IDX magic number {raw[:4].hex()}: its first two bytes must be "
            f"zero. Is it an (uncompressed or .gz) IDX file?"
        )
    if raw[2] != _IDX_UINT8:
        raise InputError(
            f"{str(path)!r} has IDX dtype code 0x{raw[2]:02x}; only 0x08 (unsigned byte) is supported, "
            f"as in MNIST."
        )
    if raw[3] != n_dims:
        raise InputError(
            f"{str(path)!r} has {raw[3]} dimensions in its IDX header; expected {n_dims} "
            f"({'images: count, rows, cols' if n_dims == 3 else 'labels: count'})."
        )
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise InputError(
            f"{str(path)!r} is truncated: {len(raw)} bytes, shorter than its {header}-byte IDX header."
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    n_expected = int(np.prod(dims, dtype=np.int64))
    n_data = len(raw) - header
    if n_data != n_expected:
        what = "is truncated" if n_data < n_expected else "has trailing bytes"
        raise InputError(
            f"{str(path)!r} {what}: its IDX header declares shape {dims} ({n_expected} bytes of data) "
            f"but {n_data} bytes follow the header. Re-download the file."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
