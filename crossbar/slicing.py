"""Signed encoding and bit slicing of integer weights; digit decomposition of inputs.

All functions are exact integer maps with exact inverses (DESIGN §3).
"""

from __future__ import annotations

import numpy as np

from crossbar.config import CrossbarConfig


def encode_weights(q: np.ndarray, config: CrossbarConfig) -> np.ndarray:
    """Split signed integer weights into per-sign, per-slice cell levels.

    Args:
        q: Integer weights, shape ``(n_in, n_out)``, in ``[-q_max, q_max]`` (already validated).
        config: Encoding, weight and cell bits.

    Returns:
        Cell levels ``m``, shape ``(n_signs, n_slices, n_in, n_out)``, int64 in
        ``[0, 2**cell_bits - 1]``; sign 0 is ``q+`` (or the offset value), sign 1 is ``q-``;
        slice 0 is the least significant.

    Example:
        >>> cfg = CrossbarConfig(weight_bits=4, cell_bits=2)
        >>> encode_weights(np.array([[5, -3]]), cfg)[:, :, 0, :].tolist()
        [[[1, 0], [1, 0]], [[0, 3], [0, 0]]]
    """
    q = np.asarray(q, dtype=np.int64)
    if config.encoding == "differential":
        mags = (np.maximum(q, 0), np.maximum(-q, 0))
    else:
        mags = (q + config.offset,)
    c = config.cell_bits
    mask = (1 << c) - 1
    out = np.empty((len(mags), config.n_slices) + q.shape, dtype=np.int64)
    for k, mag in enumerate(mags):
        for s in range(config.n_slices):
            out[k, s] = (mag >> (c * s)) & mask
    return out


def decode_weights(levels: np.ndarray, config: CrossbarConfig) -> np.ndarray:
    """Exact inverse of :func:`encode_weights`.

    Args:
        levels: Integer cell levels, shape ``(n_signs, n_slices, n_in, n_out)``.
        config: The config used to encode.

    Returns:
        Signed integer weights, shape ``(n_in, n_out)``, int64.
    """
    levels = np.asarray(levels, dtype=np.int64)
    c = config.cell_bits
    mags = [sum(levels[k, s] << (c * s) for s in range(config.n_slices)) for k in range(config.n_signs)]
    if config.encoding == "differential":
        return mags[0] - mags[1]
    return mags[0] - config.offset


def input_digits(x: np.ndarray, config: CrossbarConfig) -> np.ndarray:
    """Decompose integer inputs into the digits the DAC applies in each cycle.

    Unsigned inputs: ``x = sum_t 2**(d t) u_t`` with ``u_t in [0, 2**d - 1]``. Signed inputs
    (two's complement): the low ``Ab - 1`` bits are streamed the same way and the sign bit gets a
    final cycle of its own whose digit is 0/1 and whose weight is ``-2**(Ab-1)``, so that
    ``x = sum_t config.cycle_weights[t] * u_t`` in both cases.

    Args:
        x: Integer inputs, shape ``(batch, n_in)``, in ``[x_min, x_max]`` (already validated).
        config: Input, DAC bits and signedness.

    Returns:
        Digits, shape ``(n_cycles, batch, n_in)``, int64.

    Example:
        >>> cfg = CrossbarConfig(input_bits=4, signed_inputs=True)
        >>> d = input_digits(np.array([[-3]]), cfg)[:, 0, 0]
        >>> d.tolist(), int(np.dot(cfg.cycle_weights, d))
        ([1, 0, 1, 1], -3)
    """
    x = np.asarray(x, dtype=np.int64)
    d = config.dac_bits
    mask = (1 << d) - 1
    out = np.empty((config.n_cycles,) + x.shape, dtype=np.int64)
    if config.signed_inputs:
        low = x & ((1 << (config.input_bits - 1)) - 1)
        out[-1] = (x < 0).astype(np.int64)
    else:
        low = x
    for t in range(config.n_magnitude_cycles):
        out[t] = (low >> (d * t)) & mask
    return out
