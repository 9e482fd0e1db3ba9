"""Numba kernels of the bit-sliced MVM (private: no checks, no Python objects).

Each kernel has a twin in :mod:`crossbar._reference` and an oracle test.

Algorithm of :func:`mvm_lut`. Input bit-planes are 0/1, so the column sum of a group of
``GROUP`` = 4 rows takes one of 16 values per column; a lookup table (LUT) of those 16 sums per
group and column turns ``GROUP`` multiply-adds into one add. Several fields (one field = one
sign and one weight slice) are packed into one 64-bit word at ``field_shift`` bits apart, so one
LUT add serves them all; the field width is chosen by the caller so that no field overflows
within a row tile. Tables are built per (row tile, column block) and reused by a chunk of the
batch while they sit in the L2 cache. The ADC and shift-and-add run in the same pass, field by
field (a signed ADC converts a differential pair's difference), on exact integers; the output
combination ``sum_f factor[f] * acc[f]`` runs in a fixed order, so results do not depend on the
thread count.

Symbols: ``t`` input cycle, ``k`` bit of the DAC digit, ``g`` row group, ``w`` packed word,
``f`` field, ``j`` column, ``b`` batch row.
"""

from __future__ import annotations

import numba
import numpy as np

GROUP = 4
"""Rows per lookup-table group (16 entries per group)."""


def njit_kernel(fn=None, *, parallel: bool = False):
    """The one jit policy of this package: cached, numpy error model, nogil, no object mode."""

    def wrap(f):
        return numba.njit(cache=True, error_model="numpy", nogil=True, parallel=parallel)(f)

    return wrap if fn is None else wrap(fn)


@njit_kernel(parallel=True)
def input_patterns(x, x_mask, plane_bit, padded_row_source, n_groups):  # pragma: no cover - jit
    """Group bit patterns of the inputs.

    Args:
        x: Inputs, ``(batch, n_in)`` int64.
        x_mask: ``2**input_bits - 1`` (two's complement view of signed inputs).
        plane_bit: Bit of ``x & x_mask`` read by cycle ``t``, DAC bit ``k``; -1 = none.
            Shape ``(n_cycles, dac_bits)``.
        padded_row_source: Original row of each padded row, -1 for padding, ``(n_groups*GROUP,)``.
        n_groups: Number of row groups.

    Returns:
        ``pat[t, k, b, g]`` = sum over the group's rows ``r`` of ``bit << r``, uint8.
    """
    batch = x.shape[0]
    n_cycles, dac_bits = plane_bit.shape
    pat = np.zeros((n_cycles, dac_bits, batch, n_groups), dtype=np.uint8)
    for b in numba.prange(batch):
        for t in range(n_cycles):
            for k in range(dac_bits):
                bit = plane_bit[t, k]
                if bit < 0:
                    continue
                for g in range(n_groups):
                    v = 0
                    for r in range(GROUP):
                        i = padded_row_source[g * GROUP + r]
                        if i >= 0:
                            v |= ((x[b, i] & x_mask) >> bit & 1) << r
                    pat[t, k, b, g] = v
    return pat


@njit_kernel(parallel=True)
def mvm_lut(
    pat,
    packed,
    groups_per_tile,
    groups_per_segment,
    field_word,
    field_shift,
    field_mask,
    cycle_weights,
    delta_scaled,
    max_code,
    min_code,
    partner,
    ideal,
    factor,
    col_block,
    batch_block,
):  # pragma: no cover - jit
    """Bit-sliced MVM with LUT column sums and fused ADC + shift-and-add.

    Args:
        pat: Group bit patterns, ``(n_cycles, dac_bits, batch, n_groups)`` uint8.
        packed: Packed fixed-point levels of the padded rows, ``(n_groups*GROUP, n_words, n_out)``
            int64; field ``f`` sits in word ``field_word[f]`` at bit ``field_shift[f]``.
        groups_per_tile: Row groups per row tile.
        groups_per_segment: Row groups summed in one packed word before its fields are
            extracted (fields are sized so that no segment overflows them).
        field_word, field_shift, field_mask: Field layout, ``(n_fields,)`` int64.
        cycle_weights: ``(n_cycles,)`` int64.
        delta_scaled, max_code, min_code: ADC step and top and bottom code per field,
            ``(n_fields,)`` float64.
        partner: Field whose sum is subtracted before the ADC (``>= 0``), -1 for none, -2 for a
            field that is not converted (another field's partner), ``(n_fields,)`` int64.
        ideal: Ideal-ADC flag per field, ``(n_fields,)`` bool.
        factor: Output weight per field, ``(n_fields,)`` float64.
        col_block: Columns per task.
        batch_block: Batch rows per task.

    Returns:
        ``(batch, n_out)`` float64, equal bit for bit to :func:`crossbar._reference.mvm`.
    """
    n_cycles, dac_bits, batch, n_groups = pat.shape
    n_words = packed.shape[1]
    n_out = packed.shape[2]
    n_fields = field_word.shape[0]
    n_tiles = n_groups // groups_per_tile
    n_cb = (n_out + col_block - 1) // col_block
    n_bb = (batch + batch_block - 1) // batch_block
    out = np.empty((batch, n_out), dtype=np.float64)
    for task in numba.prange(n_cb * n_bb):
        cb = task % n_cb
        bb = task // n_cb
        j0 = cb * col_block
        nj = min(col_block, n_out - j0)
        b0 = bb * batch_block
        nbb = min(batch_block, batch - b0)
        lut = np.zeros((groups_per_tile, 16, n_words, col_block), dtype=np.int64)
        acc = np.zeros((nbb, n_fields, col_block), dtype=np.int64)
        word = np.empty((n_words, col_block), dtype=np.int64)
        part = np.empty((n_words, col_block), dtype=np.int64)
        psum = np.empty((n_fields, col_block), dtype=np.int64)
        single = groups_per_segment >= groups_per_tile
        for tile in range(n_tiles):
            g_base = tile * groups_per_tile
            for gl in range(groups_per_tile):
                row0 = (g_base + gl) * GROUP
                for p in range(1, 16):
                    low = p & (-p)
                    r = 0 if low == 1 else (1 if low == 2 else (2 if low == 4 else 3))
                    prev = p ^ low
                    for w in range(n_words):
                        for j in range(nj):
                            lut[gl, p, w, j] = lut[gl, prev, w, j] + packed[row0 + r, w, j0 + j]
            for bl in range(nbb):
                b = b0 + bl
                for t in range(n_cycles):
                    cw = cycle_weights[t]
                    if not single:
                        for f in range(n_fields):
                            for j in range(nj):
                                psum[f, j] = 0
                    for g0 in range(0, groups_per_tile, groups_per_segment):
                        g1 = min(g0 + groups_per_segment, groups_per_tile)
                        for w in range(n_words):
                            for j in range(nj):
                                word[w, j] = 0
                        for k in range(dac_bits):
                            for w in range(n_words):
                                for j in range(nj):
                                    part[w, j] = 0
                            for gl in range(g0, g1):
                                p = pat[t, k, b, g_base + gl]
                                if p == 0:
                                    continue
                                for w in range(n_words):
                                    for j in range(nj):
                                        part[w, j] += lut[gl, p, w, j]
                            for w in range(n_words):
                                for j in range(nj):
                                    word[w, j] += part[w, j] << k
                        if single:
                            break  # one segment: convert straight from the packed word below
                        for f in range(n_fields):
                            w = field_word[f]
                            sh = field_shift[f]
                            m = field_mask[f]
                            for j in range(nj):
                                psum[f, j] += (word[w, j] >> sh) & m
                    for f in range(n_fields):
                        pf = partner[f]
                        if pf == -2:
                            continue
                        if single:
                            w = field_word[f]
                            sh = field_shift[f]
                            m = field_mask[f]
                            for j in range(nj):
                                psum[f, j] = (word[w, j] >> sh) & m
                            if pf >= 0:  # the partner comes later: read it from its word
                                w = field_word[pf]
                                sh = field_shift[pf]
                                m = field_mask[pf]
                                for j in range(nj):
                                    psum[f, j] -= (word[w, j] >> sh) & m
                        elif pf >= 0:
                            for j in range(nj):
                                psum[f, j] -= psum[pf, j]
                        if ideal[f]:
                            for j in range(nj):
                                acc[bl, f, j] += cw * psum[f, j]
                        else:
                            ds = delta_scaled[f]
                            lo = min_code[f]
                            mc = max_code[f]
                            for j in range(nj):
                                c = min(max(np.rint(np.float64(psum[f, j]) / ds), lo), mc)
                                acc[bl, f, j] += cw * np.int64(c)
        for bl in range(nbb):
            for j in range(nj):
                y = 0.0
                for f in range(n_fields):
                    y += factor[f] * np.float64(acc[bl, f, j])
                out[b0 + bl, j0 + j] = y
    return out
