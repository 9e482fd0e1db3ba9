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
    delta_scaled: np.ndarray,
    max_code: np.ndarray,
    ideal: np.ndarray,
    factor: np.ndarray,
) -> np.ndarray:
    """Bit-sliced MVM, literally.

    Args:
        digits: Input digits, shape ``(n_cycles, batch, n_in)``, int64.
        fixed_levels: Read cell levels in fixed point, shape ``(n_fields, n_in, n_out)``, int64.
        rows: Rows per array (row-tile height).
        cycle_weights: Digital weight of each cycle, shape ``(n_cycles,)``, int64.
        delta_scaled: ADC step of each field in fixed-point units, shape ``(n_fields,)``.
        max_code: Largest ADC code of each field, shape ``(n_fields,)``, float64.
        ideal: True where the field's ADC is ideal (passes the fixed-point sum), ``(n_fields,)``.
        factor: Output weight of each field's accumulated codes, shape ``(n_fields,)``.

    Returns:
        ``sum_f factor[f] * acc[f]``, shape ``(batch, n_out)``, float64, where
        ``acc[f] = sum_tiles sum_t cycle_weights[t] * code(p[f, tile, t])`` exactly in int64.
    """
    n_cycles, batch, n_in = digits.shape
    n_fields, _, n_out = fixed_levels.shape
    acc = np.zeros((n_fields, batch, n_out), dtype=np.int64)
    for start in range(0, n_in, rows):
        rs = slice(start, min(start + rows, n_in))
        for t in range(n_cycles):
            for f in range(n_fields):
                p = digits[t, :, rs] @ fixed_levels[f, rs, :]
                if ideal[f]:
                    code = p
                else:
                    code = np.clip(np.rint(p.astype(np.float64) / delta_scaled[f]), 0.0, max_code[f])
                    code = code.astype(np.int64)
                acc[f] += cycle_weights[t] * code
    out = np.zeros((batch, n_out), dtype=np.float64)
    for f in range(n_fields):
        out += factor[f] * acc[f].astype(np.float64)
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
