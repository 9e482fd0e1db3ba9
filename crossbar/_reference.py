"""Pure-NumPy reference twin of :mod:`crossbar._kernels` (the oracle).

It states the bit-sliced MVM of DESIGN §3 literally: per row tile, per input cycle, per field
(one sign and one slice), an exact integer column sum, the ADC, then the shift-and-add.
Symbols: ``f`` field (``sign * n_slices + slice``), ``t`` input cycle, ``p`` column sum in
fixed-point units (``2**-frac_bits`` of a cell level).
"""

from __future__ import annotations

import numpy as np


def mvm(
    digits: np.ndarray,
    fixed_levels: np.ndarray,
    *,
    rows: int,
    cycle_weights: np.ndarray,
    adc,
) -> np.ndarray:
    """Bit-sliced MVM, literally.

    Args:
        digits: Input digits, shape ``(n_cycles, batch, n_in)``, int64.
        fixed_levels: Read cell levels in fixed point, shape ``(n_fields, n_in, n_out)``, int64.
        rows: Rows per array (row-tile height).
        cycle_weights: Digital weight of each cycle, shape ``(n_cycles,)``, int64.
        adc: Per-field ADC description (:class:`crossbar.engine.AdcParameters`): field ``f``
            converts ``p[f] - p[partner[f]]`` (``partner >= 0``), ``p[f]`` (-1) or nothing (-2)
            to ``clip(rint(value / delta_scaled[f]), min_code[f], max_code[f])``, or passes the
            value where ``ideal[f]``.

    Returns:
        ``sum_f factor[f] * acc[f]``, shape ``(batch, n_out)``, float64, where
        ``acc[f] = sum_tiles sum_t cycle_weights[t] * code(f, tile, t)`` exactly in int64.
    """
    n_cycles, batch, n_in = digits.shape
    n_fields, _, n_out = fixed_levels.shape
    acc = np.zeros((n_fields, batch, n_out), dtype=np.int64)
    for start in range(0, n_in, rows):
        rs = slice(start, min(start + rows, n_in))
        for t in range(n_cycles):
            p = [digits[t, :, rs] @ fixed_levels[f, rs, :] for f in range(n_fields)]
            for f in range(n_fields):
                partner = adc.partner[f]
                if partner == -2:
                    continue
                v = p[f] - p[partner] if partner >= 0 else p[f]
                if adc.ideal[f]:
                    code = v
                else:
                    code = np.clip(np.rint(v.astype(np.float64) / adc.delta_scaled[f]),
                                   adc.min_code[f], adc.max_code[f]).astype(np.int64)
                acc[f] += cycle_weights[t] * code
    out = np.zeros((batch, n_out), dtype=np.float64)
    for f in range(n_fields):
        out += adc.factor[f] * acc[f].astype(np.float64)
    return out


def column_sums(digits: np.ndarray, fixed_levels: np.ndarray, *, rows: int) -> np.ndarray:
    """All ADC inputs: the column sums of every tile, cycle and field.

    Returns:
        Shape ``(n_fields, n_tiles, n_cycles, batch, n_out)``, int64 fixed-point units.
    """
    n_cycles, batch, n_in = digits.shape
    n_fields, _, n_out = fixed_levels.shape
    n_tiles = -(-n_in // rows)
    out = np.empty((n_fields, n_tiles, n_cycles, batch, n_out), dtype=np.int64)
    for k in range(n_tiles):
        rs = slice(k * rows, min((k + 1) * rows, n_in))
        for t in range(n_cycles):
            for f in range(n_fields):
                out[f, k, t] = digits[t, :, rs] @ fixed_levels[f, rs, :]
    return out
