"""Event counts of crossbar MVMs (plain data handed from the engine and mapping to the cost model).

:func:`matrix_op_counts` gives the events of ``batch`` MVMs on one ``(n_in, n_out)`` matrix, equal
to :meth:`crossbar.ProgrammedMatrix.op_counts`; :class:`OpCounts` adds up over layers.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError, ShapeError
from crossbar.noise import n_column_arrays

__all__ = ["OpCounts", "matrix_op_counts"]

_STATIC_FIELDS = ("n_arrays", "n_buffer_bits")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpCounts:
    """Events of a batch of MVMs on one programmed matrix (or a whole network, summed).

    Example:
        >>> a = OpCounts(n_macs=4, n_arrays=1, n_array_reads=2, n_adc_conversions=8,
        ...              n_dac_activations=4, n_shift_adds=8)
        >>> (a + a).n_adc_conversions
        16
    """

    n_macs: int
    """Multiply-accumulates of the integer product ``batch * n_in * n_out``."""
    n_arrays: int
    """Physical arrays occupied (row tiles x column arrays; static, not per batch)."""
    n_array_reads: int
    """Array activations: every array is read once per input cycle per input vector."""
    n_adc_conversions: int
    """ADC conversions: every used column (every slice, both columns of a differential pair,
    or the pair once under ``differential_adc="subtract"``) of every row tile, every input
    cycle, every input vector."""
    n_dac_activations: int
    """DAC (row driver) activations: every used row of every array, per cycle, per vector."""
    n_shift_adds: int
    """Shift-and-add operations: one per ADC conversion."""
    n_buffer_read_bits: int = 0
    """Activation bits read from the buffer: ``n_in x input_bits`` per input vector [bit]."""
    n_buffer_write_bits: int = 0
    """Output bits written to the buffer: ``n_out x input_bits`` per input vector [bit]."""
    n_buffer_bits: int = 0
    """Buffer capacity the matrix's unique input activations occupy (static, like ``n_arrays``)
    [bit]."""

    def __add__(self, other: OpCounts) -> OpCounts:
        if not isinstance(other, OpCounts):
            return NotImplemented
        return OpCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def scaled(self, batch: int) -> OpCounts:
        """Counts of ``batch`` repetitions: per-event fields times ``batch``, static fields kept.

        Example:
            >>> OpCounts(n_macs=4, n_arrays=1, n_array_reads=2, n_adc_conversions=8,
            ...          n_dac_activations=4, n_shift_adds=8).scaled(3).n_array_reads
            6
        """
        _check_count("OpCounts.scaled", "batch", batch)
        return OpCounts(**{f.name: getattr(self, f.name) * (1 if f.name in _STATIC_FIELDS else batch)
                           for f in fields(self)})

    @property
    def buffer_bytes(self) -> float:
        """Bytes moved through the buffer, ``(read + write bits) / 8`` [B]."""
        return (self.n_buffer_read_bits + self.n_buffer_write_bits) / 8


def _check_count(owner: str, name: str, value, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ConfigError(f"{owner}: {name} must be an integer >= {lo}; got {value!r}.")
    return int(value)


def matrix_op_counts(shape: tuple[int, int], config: CrossbarConfig, *, batch: int) -> OpCounts:
    """Events of ``batch`` MVMs on an ``(n_in, n_out)`` matrix, without programming it.

    Equal to ``program(weights, config).op_counts(batch)`` for any weights of that shape; the
    buffer fields stay 0 (the matrix does not know where its inputs come from).

    Args:
        shape: Matrix ``(n_in, n_out)`` (rows x columns, the physical layout).
        config: The crossbar design.
        batch: Input vectors [1].

    Returns:
        The counts.

    Raises:
        ConfigError: A non-positive shape or a negative batch.

    Example:
        >>> from crossbar.config import CrossbarConfig
        >>> c = matrix_op_counts((256, 64), CrossbarConfig(), batch=1)
        >>> c.n_arrays, c.n_adc_conversions
        (8, 8192)
    """
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ShapeError(f"matrix_op_counts: shape must be (n_in, n_out); got {shape!r}.")
    n_in = _check_count("matrix_op_counts", "shape[0] (n_in)", shape[0], 1)
    n_out = _check_count("matrix_op_counts", "shape[1] (n_out)", shape[1], 1)
    batch = _check_count("matrix_op_counts", "batch", batch)
    n_tiles = -(-n_in // config.rows)
    col_arrays = n_column_arrays(config, n_out)
    per_vec_conv = n_tiles * n_out * config.n_slices * config.n_converted_signs * config.n_cycles
    return OpCounts(
        n_macs=batch * n_in * n_out,
        n_arrays=n_tiles * col_arrays,
        n_array_reads=batch * n_tiles * col_arrays * config.n_cycles,
        n_adc_conversions=batch * per_vec_conv,
        n_dac_activations=batch * n_in * col_arrays * config.n_cycles,
        n_shift_adds=batch * per_vec_conv,
    )


# ---- reports -------------------------------------------------------------------------------
