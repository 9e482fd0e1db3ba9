"""The parts a :class:`~crossbar.tech.Technology` is made of: frozen dataclasses in SI units.

Timing, array structure, converter laws (SAR and flash ADC, DAC), per-cell array costs, device
parameters, per-event periphery costs, buffers and published component-table rows. Each validates
its fields on construction. Import them from :mod:`crossbar.tech`, which re-exports them and
builds them from a technology file (:func:`~crossbar.tech.load_technology`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from crossbar._validate import check_bool, check_choice, check_float, check_int
from crossbar.errors import ConfigError

AdcArchitecture = Literal["sar", "flash"]


def _pos(owner: str, obj: Any, *names: str, integer: bool = False) -> None:
    """Check that every named field of ``obj`` is non-negative (a positive int if ``integer``)."""
    for name in names:
        value = getattr(obj, name)
        if value is None:
            continue
        if integer:
            check_int(owner, name, value, 1, None)
        else:
            check_float(owner, name, value, 0.0, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """Clocking of the design."""

    read_cycle: float
    """Time of one crossbar read, i.e. one input cycle [s]."""
    digital_clock: float | None = None
    """Clock of the digital periphery [Hz]."""

    def __post_init__(self) -> None:
        check_float("Timing", "read_cycle", self.read_cycle, 0.0, None, lo_open=True)
        _pos("Timing", self, "digital_clock")


@dataclass(frozen=True, slots=True, kw_only=True)
class Structure:
    """Array geometry, operand precision and (optionally) the IMA/tile/chip hierarchy."""

    rows: int
    """Rows per array [1]."""
    cols: int
    """Columns per array [1]."""
    cell_bits: int
    """Bits stored per cell [bit]."""
    dac_bits: int
    """Input bits applied per read cycle (1 = bit-serial) [bit]."""
    adc_bits: int
    """ADC resolution [bit]."""
    weight_bits: int
    """Weight precision [bit]."""
    input_bits: int
    """Input (activation) precision [bit]."""
    columns_per_adc: int
    """Columns multiplexed onto one ADC [1]."""
    arrays_per_ima: int | None = None
    """Arrays per in-situ multiply-accumulate unit (IMA) [1]; ``None``: no hierarchy given."""
    adcs_per_ima: int | None = None
    """ADCs per IMA [1]."""
    imas_per_tile: int | None = None
    """IMAs per tile [1]."""
    tiles_per_chip: int | None = None
    """Tiles per chip [1]."""

    def __post_init__(self) -> None:
        _pos("Structure", self, "rows", "cols", "cell_bits", "dac_bits", "adc_bits", "weight_bits",
             "input_bits", "columns_per_adc", "arrays_per_ima", "adcs_per_ima", "imas_per_tile",
             "tiles_per_chip", integer=True)

    @property
    def cells_per_weight(self) -> int:
        """Cells holding one weight, ``ceil(weight_bits / cell_bits)`` [1]."""
        return math.ceil(self.weight_bits / self.cell_bits)

    @property
    def input_cycles(self) -> int:
        """Read cycles per input vector, ``ceil(input_bits / dac_bits)`` [1]."""
        return math.ceil(self.input_bits / self.dac_bits)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolutionLaw:
    """``y(N) = constant + per_bit N + per_bit_squared N^2 + per_2n 2^N``; units set by the user."""

    constant: float = 0.0
    """Term independent of ``N`` [unit of y]."""
    per_bit: float = 0.0
    """Coefficient of ``N`` [unit of y per bit]."""
    per_bit_squared: float = 0.0
    """Coefficient of ``N^2`` [unit of y per bit^2]."""
    per_2n: float = 0.0
    """Coefficient of ``2^N`` [unit of y]."""

    def __post_init__(self) -> None:
        _pos("ResolutionLaw", self, "constant", "per_bit", "per_bit_squared", "per_2n")

    def __call__(self, bits: np.ndarray) -> np.ndarray:
        """Evaluate at integer resolutions ``bits`` (any shape) [same shape, float64]."""
        n = np.asarray(bits, dtype=np.float64)
        return self.constant + self.per_bit * n + self.per_bit_squared * n**2 + self.per_2n * 2.0**n


@dataclass(frozen=True, slots=True, kw_only=True)
class SarAdcModel:
    """Successive-approximation ADC."""

    energy: ResolutionLaw
    """Energy per conversion vs resolution [J]."""
    area: ResolutionLaw | None = None
    """Area per ADC vs resolution [m^2]; ``None``: not given by the source."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlashAdcModel:
    """Flash ADC (or multilevel sense amplifier) with ``2^N - 1`` comparators."""

    energy_per_comparator: float
    """Energy of one comparator per conversion [J]."""
    area_per_comparator: float | None = None
    """Area of one comparator [m^2]; ``None``: not given by the source."""

    def __post_init__(self) -> None:
        _pos("FlashAdcModel", self, "energy_per_comparator", "area_per_comparator")


@dataclass(frozen=True, slots=True, kw_only=True)
class AdcModel:
    """The ADC options of a technology."""

    default: AdcArchitecture
    """Architecture used when none is asked for."""
    sample_rate: float | None = None
    """Conversions per second of one ADC [Hz]."""
    sar: SarAdcModel | None = None
    """SAR law; ``None``: not available."""
    flash: FlashAdcModel | None = None
    """Flash law; ``None``: not available."""

    def __post_init__(self) -> None:
        check_choice("AdcModel", "default", self.default, ("sar", "flash"))
        _pos("AdcModel", self, "sample_rate")
        if getattr(self, self.default) is None:
            raise ConfigError(f"AdcModel.default is {self.default!r} but no {self.default} model "
                              "is given; add it or pick the architecture that is present.")


@dataclass(frozen=True, slots=True, kw_only=True)
class DacModel:
    """Row DAC whose energy and area grow by ``scale_per_bit`` per bit from the 1-bit cell."""

    energy_1bit: float
    """Energy of one 1-bit DAC activation (one row, one read cycle) [J]."""
    area_1bit: float
    """Area of one 1-bit DAC [m^2]."""
    scale_per_bit: float = 2.0
    """Factor per extra bit [1]."""

    def __post_init__(self) -> None:
        _pos("DacModel", self, "energy_1bit", "area_1bit", "scale_per_bit")


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossbarModel:
    """Per-cell costs of the array; an array costs ``rows x cols`` times these."""

    read_energy_per_cell: float | None = None
    """Energy per cell per read cycle [J]; ``None``: use a device (Ohmic) model."""
    area_per_cell: float | None = None
    """Area per cell [m^2]."""

    def __post_init__(self) -> None:
        _pos("CrossbarModel", self, "read_energy_per_cell", "area_per_cell")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceModel:
    """Resistive cell parameters."""

    r_on: float
    """Low-resistance state [ohm]."""
    r_off: float
    """High-resistance state [ohm]."""
    read_voltage: float
    """Row read voltage [V]."""

    def __post_init__(self) -> None:
        _pos("DeviceModel", self, "r_on", "r_off", "read_voltage")


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCost:
    """A unit charged per event: sample-and-hold per sample, shift-and-add per conversion."""

    energy: float
    """Energy per event [J]."""
    area: float
    """Area per unit [m^2]."""

    def __post_init__(self) -> None:
        _pos("EventCost", self, "energy", "area")


@dataclass(frozen=True, slots=True, kw_only=True)
class BufferModel:
    """On-chip buffer charged per byte moved."""

    energy_per_byte: float
    """Access energy [J/B]."""
    area: float
    """Area of one buffer [m^2]."""
    capacity: int
    """Capacity of one buffer [B]."""

    def __post_init__(self) -> None:
        _pos("BufferModel", self, "energy_per_byte", "area")
        _pos("BufferModel", self, "capacity", integer=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One row of a published component table; power and area are GROUP totals."""

    name: str
    """Row name, unique within its level."""
    level: Literal["ima", "tile", "chip"]
    """Unit the group belongs to."""
    count: int
    """Instances in the group [1]."""
    power: float
    """Power of the whole group [W]."""
    area: float
    """Area of the whole group [m^2]."""
    shared_by: int = 1
    """Units of ``level`` sharing one group (ISAAC router: 4 tiles) [1]."""
    static: bool = False
    """Power is a constant overhead, drawn whether or not the unit works."""
    spec: str = ""
    """Free-text specification as printed."""

    def __post_init__(self) -> None:
        check_choice("Component", "level", self.level, ("ima", "tile", "chip"))
        _pos("Component", self, "count", "shared_by", integer=True)
        _pos("Component", self, "power", "area")
        check_bool("Component", "static", self.static)
