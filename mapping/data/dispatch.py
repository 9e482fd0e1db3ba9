"""Loading a data set of :mod:`mapping.data` by name (:func:`load_dataset`, :data:`DATASET_NAMES`)."""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

from crossbar.errors import ConfigError

from ._dataset import _NO_DOWNLOAD, Dataset, _check_limit, _limited_source
from .cifar10 import load_cifar10
from .digits import load_digits
from .mnist import load_mnist

__all__ = ["DATASET_NAMES", "load_dataset"]

DATASET_NAMES: tuple[str, ...] = ("digits", "mnist", "cifar10")
"""Names accepted by :func:`load_dataset`."""


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
