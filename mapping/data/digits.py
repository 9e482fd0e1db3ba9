"""scikit-learn's embedded 8x8 handwritten digits with a fixed stratified train/test split.

The default data set of :mod:`mapping.data`: it ships with scikit-learn, so nothing is
downloaded, and it is only read when :func:`load_digits` is called.

Reference:
    E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
    Repository, 1998 (the test part, as embedded in ``sklearn.datasets.load_digits``).
"""

from __future__ import annotations

import numpy as np

from crossbar.errors import ConfigError

from ._dataset import Dataset, _stratified_split

__all__ = ["load_digits"]


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

