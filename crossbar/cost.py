"""Event counts handed from the mapping/engine to the cost model (plain data).

The component cost model that turns these counts into area, energy and latency is built on
top of :class:`OpCounts` (see DESIGN §4).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


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
    """ADC conversions: every used column (every slice, both columns of a differential pair)
    of every row tile, every input cycle, every input vector."""
    n_dac_activations: int
    """DAC (row driver) activations: every used row of every array, per cycle, per vector."""
    n_shift_adds: int
    """Shift-and-add operations: one per ADC conversion."""

    def __add__(self, other: OpCounts) -> OpCounts:
        if not isinstance(other, OpCounts):
            return NotImplemented
        return OpCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})
