"""One-epoch mini-batch iteration over samples and labels (:func:`batches`)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from crossbar.errors import ConfigError, ShapeError

__all__ = ["batches"]


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
