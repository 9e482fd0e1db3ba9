"""Technology files: sourced component costs, loaded into frozen dataclasses in SI units.

A technology file is JSON (shipped ones live in ``data/tech/<name>.json``). Every number in it
is an object ``{"value": x, "unit": "mW", "source": "<key of the file's references table>",
"kind": "published" | "derived" | "model_default" | "secondary"}``; derived numbers also carry a
``"formula"`` and any number may carry a ``"note"``. :func:`load_technology` converts every value
to SI (J, W, m^2, s, Hz, ohm, V; bits and bytes stay counts) and rejects unknown keys, missing or
unknown units, missing or unknown sources, negative values and wrong types with a
:class:`~crossbar.errors.ConfigError` that names the key path, the value and what is allowed.

Converter laws, per instance and per conversion (``N`` = resolution in bits):

* SAR ADC: ``y(N) = y0 + y1 N + y2 N^2 + yx 2^N`` for energy and area. The ISAAC preset uses the
  ISAAC-scaled fit ``E = 0.196 N + 4.11e-4 2^N pJ``, ``A = 81.73 N + 2.134 2^N um^2``.
* Flash ADC: ``E, A = (2^N - 1) x`` the per-comparator value.
* DAC: ``E, A = `` the 1-bit value ``x scale^(N - 1)`` (scale 2: ISAAC/Saberi via MNSIM).

References:
    Shafiee et al., "ISAAC", ISCA 2016, Table I. Accelergy-Project/accelergy-library-plug-in
    ``library/isaac/isaac_adc.csv``. DNN+NeuroSim V1.3 ``Param.cpp``, ``SarADC.cpp``,
    ``MultilevelSenseAmp.cpp``. thu-nics/MNSIM-2.0 ``DAC.py``, ``ADC.py``. Murmann ADC survey.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from crossbar._techfile import KINDS, SCHEMA, UNITS, Provenance, read_technology_file
from crossbar._techmodels import (
    AdcArchitecture,
    AdcModel,
    BufferModel,
    Component,
    CrossbarModel,
    DacModel,
    DeviceModel,
    EventCost,
    FlashAdcModel,
    ResolutionLaw,
    SarAdcModel,
    Structure,
    Timing,
)
from crossbar._validate import check_choice, check_float
from crossbar.errors import ConfigError

__all__ = [
    "KINDS", "SCHEMA", "UNITS", "AdcModel", "BufferModel", "Component", "CrossbarModel",
    "DacModel", "DeviceModel", "EventCost", "FlashAdcModel", "Provenance", "ResolutionLaw",
    "SarAdcModel", "Structure", "Technology", "Timing", "adc_area", "adc_energy",
    "available_technologies", "dac_area", "dac_energy", "load_technology",
]


def _tech_dir() -> Path:
    """``<repository>/data/tech``, found from this file (computed on call: no I/O at import)."""
    return Path(__file__).resolve().parent.parent / "data" / "tech"


@dataclass(frozen=True, slots=True, kw_only=True)
class Technology:
    """A technology: structure, timing, converter/array/periphery costs and a component table.

    Example:
        >>> tech = load_technology("isaac_ce_32nm")
        >>> tech.timing.read_cycle, tech.structure.cells_per_weight
        (1e-07, 8)
        >>> tech.provenance["timing.read_cycle"].kind
        'published'
    """

    name: str
    """Short identifier (the shipped file's stem)."""
    description: str
    """One-paragraph summary."""
    node: float
    """Technology node [m]."""
    timing: Timing
    """Read cycle and digital clock."""
    structure: Structure
    """Array geometry, precision and hierarchy."""
    adc: AdcModel
    """ADC laws; see :func:`adc_energy`, :func:`adc_area`."""
    crossbar: CrossbarModel
    """Per-cell array costs."""
    dac: DacModel | None = None
    """Row DAC law (``None``: bit-serial inputs without a DAC circuit)."""
    device: DeviceModel | None = None
    """Cell resistances and read voltage, for an Ohmic read-energy model."""
    sample_hold: EventCost | None = None
    """Per sample (one column, one read cycle)."""
    shift_add: EventCost | None = None
    """Per shift-and-add (one per ADC conversion)."""
    buffer: BufferModel | None = None
    """On-chip buffer per byte."""
    components: tuple[Component, ...] = ()
    """Published component table (empty when the source gives none)."""
    provenance: Mapping[str, Provenance] = field(default_factory=lambda: MappingProxyType({}),
                                                 compare=False, repr=False)
    """Dotted key path in the file (``"models.adc.sar.energy.per_bit"``) -> :class:`Provenance`."""

    def __post_init__(self) -> None:
        check_float("Technology", "node", self.node, 0.0, None, lo_open=True,
                    hint="The node is in metres, e.g. 32e-9.")


def _build(data: dict[str, Any], provenance: dict[str, Provenance]) -> Technology:
    models = data["models"]
    adc = dict(models["adc"])
    if "sar" in adc:
        sar = adc["sar"]
        adc["sar"] = SarAdcModel(energy=ResolutionLaw(**sar["energy"]),
                                 area=ResolutionLaw(**sar["area"]) if "area" in sar else None)
    if "flash" in adc:
        adc["flash"] = FlashAdcModel(**adc["flash"])
    components = tuple(
        Component(name=name, level=level, **row)
        for level, rows in data.get("components", {}).items() for name, row in rows.items())
    optional = {"dac": DacModel, "sample_hold": EventCost, "shift_add": EventCost,
                "buffer": BufferModel}
    return Technology(
        name=data["name"], description=data["description"], node=data["technology_node"],
        timing=Timing(**data["timing"]), structure=Structure(**data["structure"]),
        adc=AdcModel(**adc), crossbar=CrossbarModel(**models["crossbar"]),
        device=DeviceModel(**data["device"]) if "device" in data else None,
        **{k: cls(**models[k]) for k, cls in optional.items() if k in models},
        components=components, provenance=MappingProxyType(provenance))


def available_technologies() -> tuple[str, ...]:
    """Names of the shipped technology files (``data/tech/*.json``), sorted."""
    return tuple(sorted(p.stem for p in _tech_dir().glob("*.json")))


def load_technology(path_or_name: str | os.PathLike[str]) -> Technology:
    """Load a technology file and convert it to SI units.

    Args:
        path_or_name: A shipped name (``"isaac_ce_32nm"``, ``"neurosim_v1_3_22nm"``) or the path
            of a JSON technology file.

    Returns:
        The validated technology.

    Raises:
        ConfigError: Unknown name, unreadable or invalid JSON, or any schema violation (unknown
            key, missing/unknown unit, missing/unknown source, negative value, wrong type).

    Example:
        >>> tech = load_technology("isaac_ce_32nm")
        >>> tech.components[0].name, tech.components[0].power   # [W], group of 8 ADCs
        ('adc', 0.016)
    """
    text = os.fspath(path_or_name)
    is_name = isinstance(path_or_name, str) and not text.endswith(".json") and os.sep not in text
    path = _tech_dir() / f"{text}.json" if is_name else Path(text)
    if is_name and not path.is_file():
        raise ConfigError(f"load_technology: unknown technology {text!r}; shipped: "
                          f"{list(available_technologies())}. Or pass the path of a .json file.")
    parsed, provenance = read_technology_file(path)
    try:
        return _build(parsed, provenance)
    except ConfigError as err:
        raise ConfigError(f"Technology file {path.name}: {err}") from err


# ---- converter laws --------------------------------------------------------------------------
def _bits(bits: int | np.ndarray, owner: str) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ConfigError(f"{owner}: bits must be integers; got {bits!r} (dtype {arr.dtype}).")
    if arr.size and (arr.min() < 1 or arr.max() > 24):
        raise ConfigError(f"{owner}: bits must lie in [1, 24]; got min {arr.min()}, max "
                          f"{arr.max()}.")
    return arr


def _out(values: np.ndarray) -> float | np.ndarray:
    return float(values) if values.ndim == 0 else values


def _adc(bits: Any, tech: Technology, architecture: str | None, what: str) -> float | np.ndarray:
    owner = f"adc_{what}"
    arch = tech.adc.default if architecture is None else architecture
    check_choice(owner, "architecture", arch, ("sar", "flash"))
    n = _bits(bits, owner)
    model = getattr(tech.adc, arch)
    if model is None:
        raise ConfigError(f"{owner}: technology {tech.name!r} has no {arch} ADC model; "
                          f"use architecture={tech.adc.default!r}.")
    if arch == "sar":
        law = model.energy if what == "energy" else model.area
        if law is None:
            raise ConfigError(f"{owner}: technology {tech.name!r} gives no SAR ADC area.")
        return _out(law(n))
    per = model.energy_per_comparator if what == "energy" else model.area_per_comparator
    if per is None:
        raise ConfigError(f"{owner}: technology {tech.name!r} gives no flash comparator area.")
    return _out(per * (2.0 ** n.astype(np.float64) - 1.0))


def adc_energy(bits: int | np.ndarray, tech: Technology, *,
               architecture: AdcArchitecture | None = None) -> float | np.ndarray:
    """Energy of one ADC conversion.

    Args:
        bits: Resolution, an int or an integer array of any shape [bit].
        tech: Technology holding the ADC laws.
        architecture: ``"sar"`` or ``"flash"``; ``None`` uses ``tech.adc.default``.

    Returns:
        Energy per conversion, a float or an array shaped like ``bits`` [J].

    Raises:
        ConfigError: Non-integer or out-of-range bits, or an architecture the technology lacks.

    Example:
        >>> tech = load_technology("isaac_ce_32nm")
        >>> round(adc_energy(8, tech) * 1e12, 3)                    # pJ
        1.673
        >>> (adc_energy(np.arange(4, 7), tech, architecture="flash") * 1e12).round(3)
        array([0.885, 1.829, 3.717])
    """
    return _adc(bits, tech, architecture, "energy")


def adc_area(bits: int | np.ndarray, tech: Technology, *,
             architecture: AdcArchitecture | None = None) -> float | np.ndarray:
    """Area of one ADC; arguments as :func:`adc_energy`.

    Returns:
        Area per ADC, a float or an array shaped like ``bits`` [m^2].

    Raises:
        ConfigError: As :func:`adc_energy`, or when the technology gives no area for the law.

    Example:
        >>> round(adc_area(8, load_technology("isaac_ce_32nm")) * 1e12, 1)   # um^2
        1200.1
    """
    return _adc(bits, tech, architecture, "area")


def _dac(bits: Any, tech: Technology, what: str) -> float | np.ndarray:
    n = _bits(bits, f"dac_{what}")
    if tech.dac is None:
        raise ConfigError(f"dac_{what}: technology {tech.name!r} has no DAC model (inputs are "
                          "bit-serial there).")
    base = tech.dac.energy_1bit if what == "energy" else tech.dac.area_1bit
    return _out(base * tech.dac.scale_per_bit ** (n.astype(np.float64) - 1.0))


def dac_energy(bits: int | np.ndarray, tech: Technology) -> float | np.ndarray:
    """Energy of one DAC activation (one row, one read cycle) [J], shaped like ``bits``.

    Example:
        >>> round(dac_energy(2, load_technology("isaac_ce_32nm")) * 1e12, 4)   # pJ
        0.7812
    """
    return _dac(bits, tech, "energy")


def dac_area(bits: int | np.ndarray, tech: Technology) -> float | np.ndarray:
    """Area of one DAC [m^2], shaped like ``bits``.

    Example:
        >>> round(dac_area(1, load_technology("isaac_ce_32nm")) * 1e12, 3)    # um^2
        0.166
    """
    return _dac(bits, tech, "area")
