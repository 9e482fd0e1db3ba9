"""ISAAC-style roll-up of a published component table: IMA, tile and chip power and area, peak.

The table rows are GROUP totals (ISAAC Table I: e.g. all 8 ADCs of one IMA). An IMA is the sum
of its rows; a tile is ``imas_per_tile`` IMAs plus the tile rows, each divided by the number of
tiles sharing it (ISAAC's router: 4); the chip is ``tiles_per_chip`` tiles plus the chip rows
(ISAAC's HyperTransport, a static overhead). Peak throughput assumes every array busy: each
array holds ``rows x floor(cols / cells_per_weight)`` weights and finishes one input vector every
``input_cycles`` read cycles; 1 MAC = 2 ops.

References:
    Shafiee et al., "ISAAC", ISCA 2016, Table I (components) and Table IV (CE 478.95 GOPS/s/mm^2,
    PE 627.5 GOPS/W for ISAAC-CE, corrected Oct-2016 version).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from crossbar._validate import check_int
from crossbar.errors import ConfigError
from crossbar.tech import Technology

__all__ = ["ChipRollup", "conversions_per_mac", "roll_up"]

_HIERARCHY = ("arrays_per_ima", "adcs_per_ima", "imas_per_tile", "tiles_per_chip")


def conversions_per_mac(*, weight_bits: int, input_bits: int, cell_bits: int, dac_bits: int,
                        rows: int) -> float:
    """ADC conversions per multiply-accumulate at full row use.

    ``ceil(weight_bits / cell_bits) x ceil(input_bits / dac_bits) / rows``: a column sums
    ``rows`` products of one cell slice of the weights with one input digit, and each of the
    ``cells_per_weight`` slices and ``input_cycles`` digits needs its own conversion. Forgetting
    the cells-per-weight factor under-counts ISAAC's conversions 8x.

    Args:
        weight_bits: Weight precision [bit].
        input_bits: Input precision [bit].
        cell_bits: Bits per cell [bit].
        dac_bits: Input bits applied per cycle [bit].
        rows: Active rows summed on one column [1].

    Returns:
        Conversions per MAC [1].

    Raises:
        ConfigError: A non-positive or non-integer argument.

    Example:
        >>> conversions_per_mac(weight_bits=16, input_bits=16, cell_bits=2, dac_bits=1, rows=128)
        1.0
        >>> conversions_per_mac(weight_bits=8, input_bits=8, cell_bits=2, dac_bits=1, rows=128)
        0.25
    """
    args = {"weight_bits": weight_bits, "input_bits": input_bits, "cell_bits": cell_bits,
            "dac_bits": dac_bits, "rows": rows}
    for name, value in args.items():
        check_int("conversions_per_mac", name, value, 1, None)
    return math.ceil(weight_bits / cell_bits) * math.ceil(input_bits / dac_bits) / rows


@dataclass(frozen=True, slots=True, kw_only=True)
class ChipRollup:
    """Power, area and peak figures of a chip built from a component table (all SI).

    Example:
        >>> from crossbar.tech import load_technology
        >>> r = roll_up(load_technology("isaac_ce_32nm"))
        >>> round(r.chip_power, 2), round(r.tops, 2), round(r.gops_per_watt, 1)
        (65.81, 41.29, 627.4)
    """

    ima_power: float
    """One IMA: sum of its group rows [W]."""
    ima_area: float
    """One IMA [m^2]."""
    tile_power: float
    """One tile: ``imas_per_tile`` IMAs plus tile rows / ``shared_by`` [W]."""
    tile_area: float
    """One tile [m^2]."""
    tiles_power: float
    """All ``tiles_per_chip`` tiles [W]."""
    tiles_area: float
    """All tiles [m^2]."""
    chip_power: float
    """Tiles plus chip rows (HyperTransport) [W]."""
    chip_area: float
    """Tiles plus chip rows [m^2]."""
    tile_power_breakdown: Mapping[str, float]
    """``"ima.adc"``, ``"tile.router"``, ...: each row's share of one tile's power, IMA rows
    already multiplied by ``imas_per_tile`` [W]."""
    tile_area_breakdown: Mapping[str, float]
    """As :attr:`tile_power_breakdown`, for area [m^2]."""
    adc_power_share: float
    """Fraction of tile power spent in the ``ima.adc`` row [1]."""
    adc_area_share: float
    """Fraction of tile area taken by the ``ima.adc`` row [1]."""
    n_arrays: int
    """Arrays on the chip [1]."""
    macs_per_second: float
    """Peak multiply-accumulates per second, every array busy [MAC/s]."""
    ops_per_second: float
    """Peak operations per second, 1 MAC = 2 ops [op/s]."""
    power_efficiency: float
    """Peak ops per second per watt of chip power [op/s/W]."""
    area_efficiency: float
    """Peak ops per second per chip area (computational efficiency, CE) [op/s/m^2]."""
    storage_density: float
    """Cell storage per chip area (SE) [B/m^2]."""
    conversions_per_mac: float
    """ADC conversions per MAC, see :func:`conversions_per_mac` [1]."""
    adc_conversion_rate: float
    """Chip-wide ADC conversions per second at peak [1/s]."""
    adc_utilization: float | None
    """Conversion rate over the ADCs' capacity (``None`` without a sample rate); above 1 the
    ADCs cannot keep up with the read cycle [1]."""

    def tile_power_share(self, *names: str) -> float:
        """Fraction of tile power in the named breakdown rows (e.g. ``"tile.bus"``) [1]."""
        return sum(self.tile_power_breakdown[n] for n in names) / self.tile_power

    def tile_area_share(self, *names: str) -> float:
        """Fraction of tile area in the named breakdown rows [1]."""
        return sum(self.tile_area_breakdown[n] for n in names) / self.tile_area

    @property
    def tops(self) -> float:
        """Peak tera-operations per second [Top/s]."""
        return self.ops_per_second * 1e-12

    @property
    def gops_per_watt(self) -> float:
        """Power efficiency [GOPS/W]."""
        return self.power_efficiency * 1e-9

    @property
    def gops_per_mm2(self) -> float:
        """Computational efficiency [GOPS/s/mm^2]."""
        return self.area_efficiency * 1e-15

    @property
    def mib_per_mm2(self) -> float:
        """Storage efficiency with MB = 2^20 B, as ISAAC's Table IV [MiB/mm^2]."""
        return self.storage_density / 2**20 * 1e-6


def roll_up(tech: Technology) -> ChipRollup:
    """Roll a technology's component table up to IMA, tile and chip, with peak metrics.

    Args:
        tech: A technology with a component table (``ima``, ``tile``, ``chip`` rows, one of
            them named ``adc`` at IMA level) and the full IMA/tile/chip hierarchy in
            ``tech.structure``.

    Returns:
        The roll-up, in SI units.

    Raises:
        ConfigError: The technology has no component table, no ``ima.adc`` row, or lacks part of
            the hierarchy.

    Example:
        >>> from crossbar.tech import load_technology
        >>> r = roll_up(load_technology("isaac_ce_32nm"))
        >>> round(r.tile_power * 1e3, 2), round(r.tile_area * 1e6, 4)   # mW, mm^2
        (329.81, 0.3723)
    """
    s = tech.structure
    missing = [name for name in _HIERARCHY if getattr(s, name) is None]
    if not tech.components or missing:
        raise ConfigError(
            f"roll_up: technology {tech.name!r} needs a component table and the structure fields "
            f"{list(_HIERARCHY)}; it has {len(tech.components)} components and lacks {missing}. "
            "Only ISAAC-style technologies (e.g. 'isaac_ce_32nm') can be rolled up."
        )
    per_tile = {"ima": s.imas_per_tile, "tile": 1}
    power: dict[str, float] = {}
    area: dict[str, float] = {}
    for c in tech.components:
        if c.level in per_tile:
            power[f"{c.level}.{c.name}"] = c.power / c.shared_by * per_tile[c.level]
            area[f"{c.level}.{c.name}"] = c.area / c.shared_by * per_tile[c.level]
    if "ima.adc" not in power:
        raise ConfigError(f"roll_up: technology {tech.name!r} has no IMA row named 'adc'; rows: "
                          f"{sorted(power)}.")
    ima_rows = [c for c in tech.components if c.level == "ima"]
    chip_rows = [c for c in tech.components if c.level == "chip"]
    tile_power, tile_area = sum(power.values()), sum(area.values())
    tiles_power, tiles_area = s.tiles_per_chip * tile_power, s.tiles_per_chip * tile_area
    chip_power = tiles_power + sum(c.power / c.shared_by for c in chip_rows)
    chip_area = tiles_area + sum(c.area / c.shared_by for c in chip_rows)

    n_arrays = s.arrays_per_ima * s.imas_per_tile * s.tiles_per_chip
    weights_per_array = s.rows * (s.cols // s.cells_per_weight)
    macs = n_arrays * weights_per_array / (s.input_cycles * tech.timing.read_cycle)
    ops = 2.0 * macs
    per_mac = conversions_per_mac(weight_bits=s.weight_bits, input_bits=s.input_bits,
                                  cell_bits=s.cell_bits, dac_bits=s.dac_bits, rows=s.rows)
    n_adcs = s.adcs_per_ima * s.imas_per_tile * s.tiles_per_chip
    rate = macs * per_mac
    capacity = None if tech.adc.sample_rate is None else n_adcs * tech.adc.sample_rate
    return ChipRollup(
        ima_power=sum(c.power / c.shared_by for c in ima_rows),
        ima_area=sum(c.area / c.shared_by for c in ima_rows),
        tile_power=tile_power, tile_area=tile_area, tiles_power=tiles_power,
        tiles_area=tiles_area, chip_power=chip_power, chip_area=chip_area,
        tile_power_breakdown=MappingProxyType(power), tile_area_breakdown=MappingProxyType(area),
        adc_power_share=power["ima.adc"] / tile_power, adc_area_share=area["ima.adc"] / tile_area,
        n_arrays=n_arrays, macs_per_second=macs, ops_per_second=ops,
        power_efficiency=ops / chip_power, area_efficiency=ops / chip_area,
        storage_density=n_arrays * s.rows * s.cols * s.cell_bits / 8 / chip_area,
        conversions_per_mac=per_mac, adc_conversion_rate=rate,
        adc_utilization=None if capacity is None else rate / capacity,
    )
