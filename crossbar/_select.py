"""Exact order statistics of values that arrive in chunks, in memory bounded by the chunk and the tail.

:class:`StreamingPercentile` returns exactly ``np.percentile(all_values, p, method="higher")``,
the value at position ``k = ceil((n - 1) p / 100)`` (0-based) of the sorted values, without
holding all ``n`` values: it keeps only the ``n - k`` largest seen so far (or the ``k + 1``
smallest, whichever is fewer), and a chunk's values that cannot enter that tail are dropped with
one comparison. For the ADC calibration's 99.9th percentile the tail is 0.1 % of the values.
"""

from __future__ import annotations

import numpy as np


def higher_index(n: int, percentile: float) -> int:
    """NumPy's ``method="higher"`` position: ``ceil((n - 1) * (percentile / 100))``, computed
    with the same float64 operations as ``np.percentile`` (so it agrees for every ``n``)."""
    q = np.true_divide(np.float64(percentile), 100)
    return min(n - 1, int(np.ceil((n - 1) * q)))


class StreamingPercentile:
    """``np.percentile(values, percentile, method="higher")`` of ``n`` values given in chunks.

    Args:
        n: Total number of values that :meth:`add` will receive (>= 1).
        percentile: In ``[0, 100]``.

    Example:
        >>> s = StreamingPercentile(6, 50.0)
        >>> for chunk in ([5, 1, 4], [2, 6], [3]):
        ...     s.add(np.array(chunk))
        >>> s.value(), float(np.percentile([5, 1, 4, 2, 6, 3], 50.0, method="higher"))
        (4.0, 4.0)
    """

    def __init__(self, n: int, percentile: float) -> None:
        if n < 1:
            raise ValueError(f"StreamingPercentile: n must be >= 1; got {n}.")
        k = higher_index(n, percentile)
        self._top = n - k <= k + 1  # keep the n - k largest (else the k + 1 smallest)
        self._size = n - k if self._top else k + 1
        self._n, self._seen = n, 0
        self._kept: np.ndarray | None = None
        self._bound: float | None = None  # the kept tail's innermost value once the tail is full

    def add(self, values: np.ndarray) -> None:
        """Take a chunk of values (any shape; not modified)."""
        values = np.asarray(values)
        self._seen += values.size
        if self._seen > self._n:
            raise ValueError(f"StreamingPercentile: got {self._seen} values, more than n = {self._n}.")
        if self._bound is not None:  # only values beyond the full tail's bound can enter it
            values = values[values > self._bound] if self._top else values[values < self._bound]
        else:
            values = values.ravel()
        if values.size == 0:
            return
        kept = values.copy() if self._kept is None else np.concatenate([self._kept, values])
        if kept.size >= self._size:  # copies, so that no view holds the larger array
            if self._top:
                kept = np.partition(kept, kept.size - self._size)[kept.size - self._size:].copy()
            else:
                kept = np.partition(kept, self._size - 1)[: self._size].copy()
            self._bound = kept.min() if self._top else kept.max()
        self._kept = kept

    def value(self) -> float:
        """The percentile (after all ``n`` values were added)."""
        if self._seen != self._n:
            raise ValueError(f"StreamingPercentile: got {self._seen} of the n = {self._n} values.")
        return float(self._bound)


__all__ = ["StreamingPercentile", "higher_index"]
