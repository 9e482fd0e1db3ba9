"""Data sets for the DNN side: digits (embedded default), MNIST IDX files and CIFAR-10 batches.

Every loader returns a :class:`Dataset` of float32 images in NCHW layout ``(n, channels, height,
width)`` scaled to ``[0, 1]`` and int64 class labels. Nothing is read at import time and nothing
is ever downloaded: MNIST and CIFAR-10 are read from a directory the user provides, and the
digits set ships with scikit-learn. This module is NumPy-only (no torch), like the rest of
``mapping``'s core.

References:
    * Digits: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
      Learning Repository, 1998 (the test part, as embedded in ``sklearn.datasets.load_digits``).
    * MNIST: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
      document recognition", Proc. IEEE 86(11):2278-2324, 1998. IDX format described at
      http://yann.lecun.com/exdb/mnist/.
    * CIFAR-10: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", tech.
      report, University of Toronto, 2009 ("python version" batches from
      https://www.cs.toronto.edu/~kriz/cifar.html).
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from crossbar.errors import ConfigError, InputError, ShapeError

__all__ = [
    "DATASET_NAMES",
    "Dataset",
    "batches",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_mnist",
]

DATASET_NAMES: tuple[str, ...] = ("digits", "mnist", "cifar10")
"""Names accepted by :func:`load_dataset`."""

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MNIST_SIDE = 28
_IDX_UINT8 = 0x08

_CIFAR_SUBFOLDER = "cifar-10-batches-py"
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"
_CIFAR_SIDE = 32
_CIFAR_CHANNELS = 3

_NO_DOWNLOAD = "nothing is downloaded"


# --------------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Dataset:
    """A fixed train/test split of a classification data set.

    Images are float32 in ``[0, 1]``, either in NCHW layout ``(n, channels, height, width)`` as
    the loaders return them, or flattened to ``(n, channels * height * width)`` by :meth:`flat`.
    Labels are int64 in ``[0, n_classes)``. The constructor checks shapes, dtypes and the label
    range (not pixel values, so that standardized images can be stored too).
    Equality is identity (``eq=False``), since comparing arrays element-wise has no single truth
    value; compare fields with ``np.testing.assert_array_equal``.

    Example:
        >>> import numpy as np
        >>> ds = Dataset(x_train=np.zeros((4, 1, 2, 2), np.float32), y_train=np.array([0, 1, 0, 1]),
        ...              x_test=np.ones((2, 1, 2, 2), np.float32), y_test=np.array([1, 0]),
        ...              n_classes=2, name="toy", source="hand-made")
        >>> ds.n_train, ds.n_test, ds.sample_shape
        (4, 2, (1, 2, 2))
        >>> ds.flat().x_train.shape
        (4, 4)
    """

    x_train: np.ndarray
    """Training images, shape `(n_train, channels, height, width)` or `(n_train, n_features)`,
    float32 in [0, 1] [dimensionless]."""
    y_train: np.ndarray
    """Training labels, shape `(n_train,)`, int64 in `[0, n_classes)`."""
    x_test: np.ndarray
    """Test images, same sample shape as `x_train`, shape `(n_test, ...)`, float32 in [0, 1]."""
    y_test: np.ndarray
    """Test labels, shape `(n_test,)`, int64 in `[0, n_classes)`."""
    n_classes: int
    """Number of classes."""
    name: str
    """Short name of the data set, e.g. ``"digits"``."""
    source: str
    """Citation and origin (file or package) of the data."""

    def __post_init__(self) -> None:
        if not isinstance(self.n_classes, int | np.integer) or isinstance(self.n_classes, bool):
            raise ConfigError(
                f"Dataset.n_classes must be an int >= 1; got {self.n_classes!r} "
                f"({type(self.n_classes).__name__})."
            )
        if self.n_classes < 1:
            raise ConfigError(f"Dataset.n_classes must be an int >= 1; got {self.n_classes!r}.")
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            _check_split(x, y, split=split, n_classes=self.n_classes)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ShapeError(
                f"Dataset.x_train and Dataset.x_test must have the same sample shape; got "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}."
            )

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return int(self.x_test.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one image, `(channels, height, width)` or `(n_features,)` when flat."""
        return tuple(int(s) for s in self.x_train.shape[1:])

    def flat(self) -> Dataset:
        """Return a copy whose images are flattened to `(n, channels * height * width)`.

        The flattening is C order (channel-major), so feature ``c * h * w + r * w + col`` of a
        flat sample is pixel ``[c, r, col]`` of the image. Labels are copied too; the original is
        left unchanged.

        Returns:
            A new :class:`Dataset` with ``x_train`` of shape `(n_train, n_features)` and
            ``x_test`` of shape `(n_test, n_features)`.

        Example:
            >>> ds = load_digits()
            >>> ds.flat().x_train.shape, ds.x_train.shape
            ((1346, 64), (1346, 1, 8, 8))
        """
        return dataclasses.replace(
            self,
            x_train=self.x_train.reshape(self.n_train, -1).copy(),
            y_train=self.y_train.copy(),
            x_test=self.x_test.reshape(self.n_test, -1).copy(),
            y_test=self.y_test.copy(),
        )


def _check_split(x: Any, y: Any, *, split: str, n_classes: int) -> None:
    """Validate one split's images and labels (see :class:`Dataset`)."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        raise InputError(
            f"Dataset.x_{split} must be a float32 numpy array; got "
            f"{getattr(x, 'dtype', type(x).__name__)}. Hint: scale images with "
            f"`(x / 255).astype(np.float32)`."
        )
    if not isinstance(y, np.ndarray) or y.dtype != np.int64:
        raise InputError(
            f"Dataset.y_{split} must be an int64 numpy array; got {getattr(y, 'dtype', type(y).__name__)}. "
            f"Hint: `labels.astype(np.int64)`."
        )
    if x.ndim < 2:
        raise ShapeError(f"Dataset.x_{split} must have a sample axis and a feature axis; got {x.shape=}.")
    if y.ndim != 1:
        raise ShapeError(f"Dataset.y_{split} must be 1-D (n_{split},); got {y.shape=}.")
    if x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"Dataset.x_{split} and Dataset.y_{split} must hold the same number of samples; got "
            f"{x.shape[0]} images and {y.shape[0]} labels."
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(
            f"Dataset.y_{split} must lie in [0, n_classes) = [0, {n_classes}); got labels in "
            f"[{y.min()}, {y.max()}]."
        )


# --------------------------------------------------------------------------------------------
# Argument checks shared by the loaders
# --------------------------------------------------------------------------------------------


def _check_limit(limit: Any, owner: str) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1:
        raise ConfigError(f"{owner}: limit must be None (keep everything) or an int >= 1; got {limit!r}.")
    return int(limit)


def _check_directory(directory: Any, owner: str) -> Path:
    if not isinstance(directory, str | os.PathLike):
        raise ConfigError(
            f"{owner}: directory must be a str or path-like; got {type(directory).__name__} ({directory!r})."
        )
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise InputError(
            f"{owner}: directory {str(path)!r} does not exist or is not a directory. Download the "
            f"data set yourself and pass the folder that holds it; {_NO_DOWNLOAD}."
        )
    return path


def _limited_source(source: str, limit: int | None) -> str:
    return source if limit is None else f"{source}; first {limit} samples of each split"


# --------------------------------------------------------------------------------------------
# Digits (embedded in scikit-learn)
# --------------------------------------------------------------------------------------------


def load_digits(*, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Load scikit-learn's embedded 8x8 handwritten digits with a fixed stratified split.

    The 1797 images (values 0..16) are divided by 16 to lie in ``[0, 1]``. The split rule is
    exact and deterministic: one generator ``rng = np.random.default_rng(seed)`` visits the
    classes in increasing order ``k = 0..9``; for each, it permutes the indices (in file order)
    of class ``k`` with ``rng.permutation`` and sends the first
    ``n_test_k = floor(test_fraction * n_k + 0.5)`` of them to the test split and the rest to
    training. Each split is then sorted back into file order. The same seed always gives the
    same split; no global random state is touched.

    Args:
        test_fraction: Fraction of each class held out for testing, in ``(0, 1)``.
        seed: Seed of the split, an int ``>= 0``.

    Returns:
        A :class:`Dataset` named ``"digits"`` with ``x_*`` of shape `(n, 1, 8, 8)` (float32 in
        [0, 1]), labels in ``0..9`` and ``n_classes = 10``. With the default fraction: 1346
        training and 451 test samples.

    Raises:
        ConfigError: If ``test_fraction`` is not in ``(0, 1)``, leaves a split empty, or ``seed``
            is not a non-negative int.

    Example:
        >>> ds = load_digits(seed=0)
        >>> ds.x_train.shape, ds.x_test.shape, ds.x_train.dtype
        ((1346, 1, 8, 8), (451, 1, 8, 8), dtype('float32'))
        >>> float(ds.x_train.min()), float(ds.x_train.max()), ds.n_classes
        (0.0, 1.0, 10)
    """
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, int | float | np.floating)
        or not (0.0 < test_fraction < 1.0)
    ):
        raise ConfigError(
            f"load_digits: test_fraction must be a float in the open interval (0, 1); got "
            f"{test_fraction!r}. Hint: 0.25 holds out a quarter of each class."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"load_digits: seed must be an int >= 0; got {seed!r}.")

    from sklearn.datasets import load_digits as _sklearn_load_digits  # lazy: no I/O at import

    bunch = _sklearn_load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    x = (images / 16.0).astype(np.float32).reshape(images.shape[0], 1, 8, 8)

    train_idx, test_idx = _stratified_split(labels, test_fraction=float(test_fraction), seed=int(seed))
    if train_idx.size == 0 or test_idx.size == 0:
        raise ConfigError(
            f"load_digits: test_fraction={test_fraction!r} leaves the "
            f"{'training' if train_idx.size == 0 else 'test'} split empty; choose a value nearer 0.5."
        )
    return Dataset(
        x_train=x[train_idx],
        y_train=labels[train_idx],
        x_test=x[test_idx],
        y_test=labels[test_idx],
        n_classes=10,
        name="digits",
        source=(
            "sklearn.datasets.load_digits: Alpaydin & Kaynak, Optical Recognition of Handwritten "
            f"Digits, UCI ML Repository, 1998; stratified split test_fraction={float(test_fraction)}, "
            f"seed={int(seed)}"
        ),
    )


def _stratified_split(
    labels: np.ndarray, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices per class as documented in :func:`load_digits`; both outputs sorted."""
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        n_test = int(np.floor(test_fraction * members.size + 0.5))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


# --------------------------------------------------------------------------------------------
# MNIST (IDX files)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# CIFAR-10 (python-version pickled batches)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Dispatch and batching
# --------------------------------------------------------------------------------------------


def load_dataset(
    name: Literal["digits", "mnist", "cifar10"],
    *,
    directory: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a data set by name: ``"digits"``, ``"mnist"`` or ``"cifar10"``.

    Args:
        name: One of :data:`DATASET_NAMES`.
        directory: Folder with the files, required for ``"mnist"`` and ``"cifar10"``; must be
            None for ``"digits"``, which ships with scikit-learn.
        limit: If given, keep only the first ``limit`` samples of each split (an int >= 1).
        seed: Seed of the digits train/test split (see :func:`load_digits`); MNIST and CIFAR-10
            have fixed published splits and ignore it.

    Returns:
        The :class:`Dataset` (images of shape `(n, channels, height, width)`).

    Raises:
        ConfigError: If ``name`` is unknown, ``directory`` is missing for a file-based set or
            given for digits, or ``limit``/``seed`` is invalid.
        InputError: As raised by :func:`load_mnist` and :func:`load_cifar10`.

    Example:
        >>> ds = load_dataset("digits", limit=100)
        >>> ds.name, ds.x_train.shape, ds.x_test.shape
        ('digits', (100, 1, 8, 8), (100, 1, 8, 8))
    """
    if name not in DATASET_NAMES:
        raise ConfigError(
            f"load_dataset: name must be one of {DATASET_NAMES}; got {name!r}."
            + (" Names are lower-case." if isinstance(name, str) and name.lower() in DATASET_NAMES else "")
        )
    if name == "digits":
        if directory is not None:
            raise ConfigError(
                f"load_dataset: directory must be None for 'digits' (it ships with scikit-learn); got "
                f"{directory!r}."
            )
        limit = _check_limit(limit, "load_dataset")
        ds = load_digits(seed=seed)
        if limit is None:
            return ds
        return dataclasses.replace(
            ds,
            x_train=ds.x_train[:limit].copy(),
            y_train=ds.y_train[:limit].copy(),
            x_test=ds.x_test[:limit].copy(),
            y_test=ds.y_test[:limit].copy(),
            source=_limited_source(ds.source, limit),
        )
    if directory is None:
        raise ConfigError(
            f"load_dataset: {name!r} needs directory=<folder with the files>; got None. Download "
            f"{'MNIST' if name == 'mnist' else 'CIFAR-10'} yourself and pass its directory; {_NO_DOWNLOAD}."
        )
    loader = load_mnist if name == "mnist" else load_cifar10
    return loader(directory, limit=limit)


def batches(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Iterate once over ``(x, y)`` in mini-batches (one epoch).

    Without ``rng`` the batches follow the sample order and are views; with ``rng`` the order is
    ``rng.permutation(n)`` (drawn once, when this function is called) and the batches are copies.
    Every sample appears exactly once; the last batch is smaller when ``batch_size`` does not
    divide ``n``. Arguments are checked at the call, not at the first ``next``.

    Args:
        x: Samples, shape `(n, ...)`.
        y: Labels or targets, shape `(n, ...)`.
        batch_size: Samples per batch, an int >= 1.
        rng: Shuffles the order when given; None keeps it.

    Returns:
        An iterator of ``(x_batch, y_batch)`` pairs of shapes `(b, ...)`, ``b <= batch_size``.

    Raises:
        ShapeError: If ``x`` and ``y`` hold different numbers of samples or are 0-D.
        ConfigError: If ``batch_size`` is not an int >= 1 or ``rng`` is not a Generator.

    Example:
        >>> import numpy as np
        >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
        >>> [yb.tolist() for _, yb in batches(x, y, batch_size=2)]
        [[0, 1], [2, 3], [4]]
        >>> sorted(np.concatenate([yb for _, yb in batches(x, y, batch_size=2,
        ...                        rng=np.random.default_rng(0))]).tolist())
        [0, 1, 2, 3, 4]
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"batches: x and y must have the same leading (sample) axis; got {x.shape=} and {y.shape=}."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ConfigError(f"batches: batch_size must be an int >= 1; got {batch_size!r}.")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ConfigError(
            f"batches: rng must be a numpy.random.Generator or None; got {type(rng).__name__}. "
            f"Hint: pass np.random.default_rng(seed)."
        )
    order = None if rng is None else rng.permutation(x.shape[0])
    return _iterate(x, y, int(batch_size), order)


def _iterate(
    x: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, x.shape[0], batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
