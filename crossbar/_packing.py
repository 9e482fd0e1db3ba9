"""Private numerics of :mod:`crossbar.engine`: fixed-point reads, row/field packing, kernel calls.

:func:`_frac_bits` picks the fixed-point resolution that keeps every sum exact in int64;
:func:`_prepare` turns one read's fixed-point levels into the row tiling and 64-bit field packing
(:class:`_Layout`) that :func:`crossbar._kernels.mvm_lut` consumes. :func:`_numba_mvm` (the Numba
path) and :func:`_exact_product` (the one-GEMM fast path) are two of the paths that
:meth:`crossbar.engine.ProgrammedMatrix.matmul` picks; the third is :mod:`crossbar._reference`.
No input checks here: the public engine validates first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from crossbar import _kernels
from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError

_MAX_FRAC_BITS = 24
_COL_BLOCK = 256  # columns per task; measured best at 64-256 (experiments/bench_mvm.py)
_BATCH_BLOCK = 128  # batch rows sharing one set of lookup tables


@dataclass(frozen=True, slots=True)
class _Layout:
    """Row tiling into 4-row groups and the packing of fields into 64-bit words."""

    n_tiles: int
    groups_per_tile: int
    groups_per_segment: int  # fields are extracted after each segment (no field overflow)
    padded_row_source: np.ndarray  # (n_groups * GROUP,) int64, -1 = padding
    padded_row_target: np.ndarray  # (n_in,) int64: padded row of each original row
    field_word: np.ndarray
    field_shift: np.ndarray
    field_mask: np.ndarray
    n_words: int

    @staticmethod
    def build(n_in: int, rows: int, n_fields: int, row_max: int | None) -> _Layout:
        """Layout for ``n_fields`` fields whose per-row value is at most ``row_max``.

        ``row_max=None`` (fixed-point levels of any sign) gives one field per word. Otherwise
        the segment length (a multiple of 4 rows, at least a quarter tile) is the longest
        that packs the fields into the fewest 64-bit words without overflow.
        """
        g = _kernels.GROUP
        n_tiles = -(-n_in // rows)
        groups_per_tile = -(-min(rows, n_in) // g)
        if row_max is None:
            field_bits, groups_per_segment = 64, groups_per_tile
        else:
            best = None
            for n_seg in range(1, min(4, groups_per_tile) + 1):
                gps = -(-groups_per_tile // n_seg)
                bits = max(1, (gps * g * row_max).bit_length())
                words = -(-n_fields // max(1, 64 // bits))
                if best is None or words < best[0]:
                    best = (words, bits, gps)
            _, field_bits, groups_per_segment = best
        rows_pad = groups_per_tile * g
        i = np.arange(n_in, dtype=np.int64)
        target = (i // rows) * rows_pad + i % rows
        source = np.full(n_tiles * rows_pad, -1, dtype=np.int64)
        source[target] = i
        per_word = max(1, 64 // field_bits)
        f = np.arange(n_fields, dtype=np.int64)
        word = f // per_word
        if per_word == 1:
            shift = np.zeros(n_fields, dtype=np.int64)
            mask = np.full(n_fields, -1, dtype=np.int64)
        else:
            shift = (f % per_word) * field_bits
            mask = np.full(n_fields, (1 << field_bits) - 1, dtype=np.int64)
        return _Layout(n_tiles, groups_per_tile, groups_per_segment, source, target, word, shift,
                       mask, int(word[-1]) + 1)

    def pack(self, fixed_levels: np.ndarray) -> np.ndarray:
        """Packed words of the padded rows, ``(n_groups * GROUP, n_words, n_out)`` int64."""
        n_fields, _, n_out = fixed_levels.shape
        packed = np.zeros((self.padded_row_source.size, self.n_words, n_out), dtype=np.int64)
        for f in range(n_fields):
            w, sh = int(self.field_word[f]), int(self.field_shift[f])
            packed[self.padded_row_target, w, :] += fixed_levels[f] << sh
        return packed


def _frac_bits(config: CrossbarConfig, n_in: int, max_abs_level: float) -> int:
    """Fixed-point fraction bits that keep column sums < 2**53 and accumulators < 2**62."""
    span = max(1, math.ceil(max_abs_level)) * (2**config.dac_bits - 1)
    per_tile = min(config.rows, n_in) * span
    total = n_in * span * (2**config.input_bits)
    frac = min(_MAX_FRAC_BITS, 52 - per_tile.bit_length(), 61 - total.bit_length())
    if frac < 0:
        raise ConfigError(
            f"CrossbarConfig: a {n_in}-row input with levels up to {max_abs_level:.3g} and "
            f"{config.input_bits}-bit inputs overflows exact int64 accumulation; reduce the "
            f"layer size or the noise."
        )
    return frac


def _prepare(config: CrossbarConfig, n_in: int, fixed: np.ndarray, frac: int):
    """Fixed levels, fraction bits, row/field layout and packed words of one read."""
    n_fields = fixed.shape[0]
    row_max = None
    if frac == 0 and fixed.size and fixed.min() >= 0:
        row_max = int(fixed.max()) * (2**config.dac_bits - 1)
    layout = _Layout.build(n_in, config.rows, n_fields, row_max)
    return fixed, frac, layout, layout.pack(fixed)


def _column_sums(digits: np.ndarray, fixed: np.ndarray, *, rows: int) -> np.ndarray:
    """The column sums of every field, row tile and cycle: the array of
    :func:`crossbar._reference.column_sums`, shape ``(n_fields, n_tiles, n_cycles, batch, n_out)``
    int64, assembled from :func:`_column_sum_tiles`."""
    n_cycles, batch, n_in = digits.shape
    n_fields, _, n_out = fixed.shape
    out = np.empty((n_fields, -(-n_in // rows), n_cycles, batch, n_out), dtype=np.int64)
    for k, sums in _column_sum_tiles(digits, fixed, rows=rows):
        out[:, k] = sums.reshape(n_cycles, batch, n_fields, n_out).transpose(2, 0, 1, 3)
    return out


def _column_sum_tiles(digits: np.ndarray, fixed: np.ndarray, *, rows: int):
    """Yield ``(k, sums)`` for every row tile ``k``: the column sums of every field and cycle,
    ``sums`` of shape ``(n_cycles * batch, n_fields, n_out)`` (cycle-major rows), exact integers
    in float32, float64 or int64, from one GEMM per tile.

    Exact: every product and partial sum is an integer of magnitude at most
    ``bound = max|digit| * max_column sum_rows |level|``; below 2**53 float64 represents them all,
    whatever the GEMM's summation order, and below 2**23 float32 does, with the difference of two
    sums too (float32 where it can: half the time and memory). A tile at or above 2**53 takes the
    int64 reference (:func:`_frac_bits` keeps every read below it).

    The GEMMs run on one BLAS thread: OpenBLAS's threads keep spinning after a call and, on a
    2-core machine, took the CPU from the torch training around it (a ReRAM search evaluation went
    from 0.14 s to 0.20 s with threaded GEMMs; 0.09 s with one thread).
    """
    from crossbar import _reference

    n_cycles, batch, n_in = digits.shape
    n_fields, _, n_out = fixed.shape
    d_max = int(np.abs(digits).max()) if digits.size else 0
    for k in range(-(-n_in // rows)):
        rs = slice(k * rows, min((k + 1) * rows, n_in))
        levels = fixed[:, rs, :]
        bound = d_max * int(np.abs(levels).sum(axis=1).max()) if levels.size else 0
        if bound >= 2**53:
            ref = _reference.column_sums(digits[:, :, rs], levels, rows=rows)[:, 0]  # (fields, cycles, batch, out)
            yield k, ref.transpose(1, 2, 0, 3).reshape(n_cycles * batch, n_fields, n_out)
            continue
        dtype = np.float32 if bound < 2**23 else np.float64
        d = digits[:, :, rs].reshape(n_cycles * batch, -1).astype(dtype)
        w = levels.transpose(1, 0, 2).reshape(levels.shape[1], n_fields * n_out).astype(dtype)
        with _one_blas_thread():
            sums = d @ w
        yield k, sums.reshape(n_cycles * batch, n_fields, n_out)


_BLAS_CONTROLLER = None


def _one_blas_thread():
    """A context in which NumPy's BLAS runs one thread (threadpoolctl; the controller, which scans
    the loaded libraries, is built once)."""
    global _BLAS_CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _numba_mvm(x, cfg, layout, packed, cycle_weights, adc):
    n_cycles, d = cfg.n_cycles, cfg.dac_bits
    plane_bit = np.full((n_cycles, d), -1, dtype=np.int64)
    mag_bits = cfg.input_bits - 1 if cfg.signed_inputs else cfg.input_bits
    for t in range(cfg.n_magnitude_cycles):
        for k in range(d):
            if d * t + k < mag_bits:
                plane_bit[t, k] = d * t + k
    if cfg.signed_inputs:
        plane_bit[-1, 0] = cfg.input_bits - 1
    n_groups = layout.padded_row_source.size // _kernels.GROUP
    pat = _kernels.input_patterns(x, (1 << cfg.input_bits) - 1, plane_bit,
                                  layout.padded_row_source, n_groups)
    n_out = packed.shape[2]
    # at least two tasks when the layer allows it, so both cores work on small layers
    col_block = int(min(_COL_BLOCK, max(8, -(-n_out // 2))))
    return _kernels.mvm_lut(pat, packed, layout.groups_per_tile, layout.groups_per_segment,
                            layout.field_word,
                            layout.field_shift, layout.field_mask, cycle_weights, adc.delta_scaled,
                            adc.max_code, adc.min_code, adc.partner, adc.ideal, adc.factor, col_block,
                            min(_BATCH_BLOCK, max(1, x.shape[0])))


def _exact_product(x: np.ndarray, q: np.ndarray, q_f64: np.ndarray | None, q_absmax: int) -> np.ndarray:
    """``x @ q`` exactly: one float64 GEMM when every partial sum stays below 2**53."""
    x_absmax = max(int(x.max(initial=0)), -int(x.min(initial=0)))
    bound = x.shape[1] * max(1, x_absmax) * max(1, q_absmax)
    if bound < 2**53:
        return x.astype(np.float64) @ (q.astype(np.float64) if q_f64 is None else q_f64)
    return (x @ q).astype(np.float64)
