"""The :class:`Dataset` container and the argument checks shared by the loaders of :mod:`mapping.data`.

Internal module: import the names from :mod:`mapping.data`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossbar.errors import ConfigError, InputError, ShapeError

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

    def split_validation(self, fraction: float, *, seed: int = 0) -> Dataset:
        """Hold out part of the training split for validation (model selection without the test set).

        The training samples are divided with the same stratified rule as :func:`mapping.data.load_digits`'s
        split (per class, in increasing class order, ``rng.permutation`` of its indices from one
        ``np.random.default_rng(seed)``; the first ``floor(fraction * n_k + 0.5)`` are held out;
        both parts keep their order). The test split is not touched and not returned.

        Args:
            fraction: Fraction of each class held out, in ``(0, 1)``.
            seed: Seed of the division, an int ``>= 0``.

        Returns:
            A :class:`Dataset` whose ``x_train``/``y_train`` are the remaining training samples
            and whose ``x_test``/``y_test`` are the held-out validation samples (so that
            :func:`mapping.nn.train.fit`'s per-epoch accuracy is the validation accuracy).

        Raises:
            ConfigError: ``fraction`` not in ``(0, 1)``, ``seed`` not an int ``>= 0``, or a part
                would be empty.

        Example:
            >>> from mapping.data import load_digits
            >>> ds = load_digits()
            >>> val = ds.split_validation(0.2)
            >>> val.n_train, val.n_test, val.n_train + val.n_test == ds.n_train
            (1077, 269, True)
        """
        if not is_fraction(float(fraction) if isinstance(fraction, np.floating) else fraction):
            raise ConfigError(f"Dataset.split_validation: fraction must be a number in the open interval (0, 1); "
                              f"got {fraction!r}.")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError(f"Dataset.split_validation: seed must be an int >= 0; got {seed!r}.")
        keep, held = _stratified_split(self.y_train, test_fraction=float(fraction), seed=int(seed))
        if keep.size == 0 or held.size == 0:
            raise ConfigError(f"Dataset.split_validation: fraction={fraction!r} of {self.n_train} training samples "
                              f"leaves the {'training' if keep.size == 0 else 'validation'} part empty.")
        return dataclasses.replace(
            self, x_train=self.x_train[keep], y_train=self.y_train[keep], x_test=self.x_train[held],
            y_test=self.y_train[held], name=f"{self.name} (validation)",
            source=f"{self.source}; training split divided: validation fraction={float(fraction)}, seed={int(seed)}")

    def flat(self) -> Dataset:
        """Return a copy whose images are flattened to `(n, channels * height * width)`.

        The flattening is C order (channel-major), so feature ``c * h * w + r * w + col`` of a
        flat sample is pixel ``[c, r, col]`` of the image. Labels are copied too; the original is
        left unchanged.

        Returns:
            A new :class:`Dataset` with ``x_train`` of shape `(n_train, n_features)` and
            ``x_test`` of shape `(n_test, n_features)`.

        Example:
            >>> from mapping.data import load_digits
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


def is_fraction(value: Any) -> bool:
    """Whether ``value`` is a Python number (``int`` or ``float``, not ``bool``) in the open interval
    ``(0, 1)``: a validation fraction, as :meth:`Dataset.split_validation` takes it (which also takes
    NumPy floats). Callers that take one check it with this before loading any data, naming their
    own parameter in the error.

    Example:
        >>> [is_fraction(v) for v in (0.2, 1.0, 0, True, float("nan"), "0.2")]
        [True, False, False, False, False, False]
    """
    return bool(not isinstance(value, bool) and isinstance(value, int | float) and 0.0 < value < 1.0)


def _stratified_split(
    labels: np.ndarray, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices per class as documented in :func:`mapping.data.load_digits`; both outputs sorted."""
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        n_test = int(np.floor(test_fraction * members.size + 0.5))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


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
