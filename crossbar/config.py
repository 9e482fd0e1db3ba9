"""Frozen, keyword-only, validated configurations of a crossbar and its noise.

Units are SI (siemens, volts, hertz, kelvin). Column sums, ADC full scales and noise
amplitudes are in *cell-level units*: one unit is the conductance step
``dg = (g_max - g_min) / (2**cell_bits - 1)`` times one unit of input digit, so that the ideal
column sum of a slice is ``sum_i x_i * m_i`` with integer cell levels ``m_i``.

References:
    PytorX noise model (He et al., DAC 2019; code elliothe/pytorx, ``module/layer.py``), used by
    ReSNA (Yang et al., ICCAD 2021). Defaults for ``g_min``/``g_max``/``frequency`` are PytorX's
    ``benchmark/mnist.py`` values; ``read_voltage`` is DNN+NeuroSim V1.3's 0.5 V.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from crossbar._validate import check_bool, check_choice, check_float, check_int
from crossbar.errors import ConfigError

BOLTZMANN = 1.380649e-23  # [J/K]
ELEMENTARY_CHARGE = 1.602176634e-19  # [C]

_NOISE = "NoiseConfig"
_XBAR = "CrossbarConfig"


def _to_python_numbers(obj) -> None:
    """Store NumPy scalars as Python ints/floats so configs stay JSON-serializable."""
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.integer):
            object.__setattr__(obj, f.name, int(v))
        elif isinstance(v, np.floating):
            object.__setattr__(obj, f.name, float(v))


@dataclass(frozen=True, slots=True, kw_only=True)
class NoiseConfig:
    """Stochastic conductance noise and faults; every source is independent and off by default.

    Programming noise and faults are drawn once, in :func:`crossbar.program`. Read noise, the
    thermal/shot terms and random telegraph noise are drawn afresh at every
    :meth:`ProgrammedMatrix.matmul` call and shared by all rows of that call's batch and all its
    input cycles (one "read" of the array, as PytorX samples once per forward pass).

    Example:
        >>> NoiseConfig(program_sigma=0.1, program_model="level").is_noisy
        True
        >>> NoiseConfig().is_noisy
        False
    """

    program_sigma: float | None = None
    """Programming-noise magnitude; ``None`` = off. Meaning set by ``program_model``."""
    program_model: Literal["level", "range", "lognormal"] = "level"
    """``level``: Gaussian, std ``program_sigma * dg``; ``range``: Gaussian, std
    ``program_sigma * (g_max - g_min)``; ``lognormal``: ``G * exp(program_sigma * z)``."""
    read_sigma: float | None = None
    """Gaussian read-noise magnitude, fresh each matmul; ``None`` = off."""
    read_model: Literal["level", "range"] = "level"
    """``level``: std ``read_sigma * dg``; ``range``: std ``read_sigma * (g_max - g_min)``."""
    thermal: bool = False
    """PytorX thermal term: variance ``G f 4 k T / V**2`` [S^2], fresh each matmul."""
    shot: bool = False
    """PytorX shot term: variance ``G f 2 q V / V**2`` [S^2], fresh each matmul."""
    physical_programming: bool = False
    """PytorX programming term: Gaussian std ``dg_p / 3`` (3 sigma = one step), drawn at program."""
    physical_programming_bits: int | None = None
    """Sets the step ``dg_p`` of the programming term. ``None``: the cell's own level spacing
    ``dg`` (std one third of a level whatever the cell bits). An integer ``b``: PytorX's fixed
    ``dg_p = (g_max - g_min) / 2**b`` (PytorX hard-codes ``b = 7``): a write precision of the
    device that does not shrink with the cell's levels, std ``(2**c - 1) / (3 * 2**b)`` levels, so
    cells with more bits are relatively noisier (ReSNA's premise)."""
    rtn: bool = False
    """PytorX random telegraph noise: ``dG = G (b G + a) / (G - (b G + a))`` with probability
    ``rtn_probability``, fresh each matmul."""
    rtn_a: float = 1.662e-7
    """RTN parameter ``a`` [S] (PytorX default)."""
    rtn_b: float = 0.0015
    """RTN parameter ``b`` [1] (PytorX default)."""
    rtn_probability: float = 0.5
    """Probability that a cell shows the RTN offset in one read [1] (PytorX ``tau``)."""
    stuck_on_rate: float = 0.0
    """Fraction of cells stuck at ``g_max`` (drawn at program) [1]."""
    stuck_off_rate: float = 0.0
    """Fraction of cells stuck at ``g_min`` (drawn at program) [1]."""

    def __post_init__(self) -> None:
        _to_python_numbers(self)
        if self.program_sigma is not None:
            check_float(_NOISE, "program_sigma", self.program_sigma, 0.0, None,
                        hint="Use None to switch programming noise off.")
        check_choice(_NOISE, "program_model", self.program_model, ("level", "range", "lognormal"))
        if self.read_sigma is not None:
            check_float(_NOISE, "read_sigma", self.read_sigma, 0.0, None,
                        hint="Use None to switch read noise off.")
        check_choice(_NOISE, "read_model", self.read_model, ("level", "range"))
        for name in ("thermal", "shot", "physical_programming", "rtn"):
            check_bool(_NOISE, name, getattr(self, name))
        if self.physical_programming_bits is not None:
            check_int(_NOISE, "physical_programming_bits", self.physical_programming_bits, 1, 24,
                      hint="Use None to follow the cell's level spacing.")
        check_float(_NOISE, "rtn_a", self.rtn_a, 0.0, None)
        check_float(_NOISE, "rtn_b", self.rtn_b, 0.0, 1.0, hi_open=True)
        check_float(_NOISE, "rtn_probability", self.rtn_probability, 0.0, 1.0)
        check_float(_NOISE, "stuck_on_rate", self.stuck_on_rate, 0.0, 1.0)
        check_float(_NOISE, "stuck_off_rate", self.stuck_off_rate, 0.0, 1.0)
        if self.stuck_on_rate + self.stuck_off_rate > 1.0:
            raise ConfigError(
                f"{_NOISE}.stuck_on_rate + stuck_off_rate must be <= 1; got "
                f"{self.stuck_on_rate!r} + {self.stuck_off_rate!r}."
            )

    @property
    def has_program_noise(self) -> bool:
        """True when programming draws anything random (noise or faults)."""
        return (
            (self.program_sigma is not None and self.program_sigma > 0)
            or self.physical_programming
            or self.stuck_on_rate > 0
            or self.stuck_off_rate > 0
        )

    @property
    def has_read_noise(self) -> bool:
        """True when each matmul draws fresh noise."""
        return (
            (self.read_sigma is not None and self.read_sigma > 0)
            or self.thermal
            or self.shot
            or (self.rtn and self.rtn_probability > 0)
        )

    @property
    def is_noisy(self) -> bool:
        """True when any source is on."""
        return self.has_program_noise or self.has_read_noise


_LATER_FIELDS = frozenset({"differential_adc", "gmin_removal"})
""":class:`CrossbarConfig` fields that :meth:`~CrossbarConfig.to_dict` omits at their default."""

AdcBits = int | tuple[int, ...] | None
AdcRange = Literal["max", "calibrated"] | float | tuple[float, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossbarConfig:
    """One crossbar design: array geometry, cells, converters, encoding, device and noise.

    Integer semantics (see DESIGN §3): weights are signed integers in
    ``[-(2**(weight_bits-1) - 1), 2**(weight_bits-1) - 1]``; inputs are unsigned
    ``input_bits``-bit integers (two's complement when ``signed_inputs``) streamed
    ``dac_bits`` per cycle.

    Example:
        >>> cfg = CrossbarConfig(adc_bits=6)
        >>> cfg.n_slices, cfg.n_cycles, cfg.max_column_sum
        (4, 8, 384)
        >>> CrossbarConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    rows: int = 128
    """Rows per array ``R`` (inputs summed on one bitline) [1]."""
    cols: int = 128
    """Columns per array ``C`` [1]."""
    cell_bits: int = 2
    """Bits stored per cell ``c``, 1-8 [bit]."""
    weight_bits: int = 8
    """Signed weight precision ``Wb`` (symmetric range) [bit]."""
    input_bits: int = 8
    """Input precision ``Ab`` [bit]."""
    dac_bits: int = 1
    """Input bits applied per cycle ``d`` (1 = bit-serial) [bit]."""
    adc_bits: AdcBits = None
    """ADC resolution: ``None`` = ideal (no quantization), an int, or one int per weight slice
    (least significant slice first) [bit]."""
    adc_range: AdcRange = "max"
    """ADC full scale ``FS`` in cell-level units: ``"max"`` (the largest possible column sum;
    lossless when ``2**B - 1 >= max_column_sum``), ``"calibrated"`` (set by
    :func:`crossbar.calibrate_adc`), a float, or one float per slice."""
    encoding: Literal["differential", "offset"] = "differential"
    """Signed-weight encoding: ``q = q+ - q-`` on two column sets, or ``q + offset`` unsigned."""
    differential_adc: Literal["separate", "subtract"] = "separate"
    """How differential column pairs are converted: ``"separate"`` (an unsigned ADC per column,
    ``y+ - y-`` after the shift-and-add) or ``"subtract"`` (the minus column's sum is subtracted
    from the plus column's before one signed ADC: half the conversions, codes
    ``-(2**(B-1) - 1) .. 2**(B-1) - 1``, so ``B >= 2``; PytorX's ADC converts ``I+ - I-`` the
    same way, clipping to ``±h_lvl = ±(2**B - 2) / 2``). Only with ``encoding="differential"``."""
    gmin_removal: Literal["digital", "reference"] = "digital"
    """How the ``g_min`` floor leaves the column sums (DESIGN §3): ``"digital"`` subtracts its
    nominal current ``g_min sum(x)`` exactly; ``"reference"`` gives every array one reference
    column of cells at level 0 (``g_min``), on the same rows and inputs, whose current is
    subtracted from each of the array's columns before the ADC. Its cells carry the config's
    programming noise, faults and read noise like any cell, so its error is shared by all columns
    of the array; it takes one of the array's ``cols`` columns (``data_cols = cols - 1``). Without
    noise both give the same results. Layout: :func:`crossbar.noise.column_arrays`."""
    signed_inputs: bool = False
    """Inputs are two's complement; the sign bit gets its own cycle with weight ``-2**(Ab-1)``."""
    g_min: float = 3.33e-7
    """Lowest cell conductance [S] (PytorX ``Gmin``)."""
    g_max: float = 3.33e-4
    """Highest cell conductance [S] (PytorX ``Gmax``)."""
    read_voltage: float = 0.5
    """Row read voltage for a digit of one [V] (NeuroSim V1.3 ``readVoltage``)."""
    frequency: float = 1.0e7
    """Read frequency (bandwidth of the thermal and shot noise) [Hz] (PytorX default 10 MHz)."""
    temperature: float = 300.0
    """Device temperature [K]."""
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    """Noise sources and faults."""

    def __post_init__(self) -> None:
        _to_python_numbers(self)
        check_int(_XBAR, "rows", self.rows, 1, 65536,
                  hint="This is the crossbar height, not the layer's fan-in.")
        check_int(_XBAR, "cols", self.cols, 1, 65536)
        check_int(_XBAR, "cell_bits", self.cell_bits, 1, 8)
        check_int(_XBAR, "weight_bits", self.weight_bits, 2, 24)
        check_int(_XBAR, "input_bits", self.input_bits, 2 if self.signed_inputs else 1, 24,
                  hint="Signed inputs need at least 2 bits." if self.signed_inputs else "")
        check_int(_XBAR, "dac_bits", self.dac_bits, 1, 8)
        if self.dac_bits > self.input_bits:
            raise ConfigError(
                f"{_XBAR}.dac_bits must be <= input_bits ({self.input_bits}); got {self.dac_bits!r}."
            )
        check_choice(_XBAR, "encoding", self.encoding, ("differential", "offset"))
        check_choice(_XBAR, "differential_adc", self.differential_adc, ("separate", "subtract"))
        if self.differential_adc == "subtract" and self.encoding != "differential":
            raise ConfigError(
                f"{_XBAR}.differential_adc='subtract' needs encoding='differential' (there is no "
                f"minus column to subtract); got encoding={self.encoding!r}. Use 'separate'."
            )
        check_choice(_XBAR, "gmin_removal", self.gmin_removal, ("digital", "reference"))
        if self.gmin_removal == "reference" and self.cols < 2:
            raise ConfigError(
                f"{_XBAR}.cols must be >= 2 with gmin_removal='reference' (the reference column "
                f"takes one of the array's columns); got cols={self.cols!r}."
            )
        check_bool(_XBAR, "signed_inputs", self.signed_inputs)
        self._check_adc()
        check_float(_XBAR, "g_min", self.g_min, 0.0, None)
        check_float(_XBAR, "g_max", self.g_max, 0.0, None, lo_open=True)
        if not self.g_min < self.g_max:
            raise ConfigError(
                f"{_XBAR}.g_min must be < g_max; got g_min={self.g_min!r}, g_max={self.g_max!r} [S]."
            )
        check_float(_XBAR, "read_voltage", self.read_voltage, 0.0, None, lo_open=True)
        check_float(_XBAR, "frequency", self.frequency, 0.0, None, lo_open=True,
                    hint="Frequency is in hertz, e.g. 1e8 for 100 MHz.")
        check_float(_XBAR, "temperature", self.temperature, 0.0, None, lo_open=True,
                    hint="Temperature is in kelvin, e.g. 300.0.")
        if not isinstance(self.noise, NoiseConfig):
            raise ConfigError(f"{_XBAR}.noise must be a NoiseConfig; got {self.noise!r}.")
        n = self.noise
        if n.rtn and self.g_min * (1.0 - n.rtn_b) <= n.rtn_a:
            raise ConfigError(
                f"{_XBAR}.g_min must exceed rtn_a / (1 - rtn_b) = {n.rtn_a / (1 - n.rtn_b):.4g} S "
                f"when RTN is on (the PytorX RTN formula diverges below it); got {self.g_min!r}."
            )

    def _check_adc(self) -> None:
        n_slices = self.n_slices
        bits = self.adc_bits
        lo = 2 if self.differential_adc == "subtract" else 1
        hint = ("A signed (subtract) ADC needs a sign bit: B >= 2 gives codes -1, 0, 1."
                if lo == 2 else "")
        if isinstance(bits, (tuple, list)):
            if len(bits) != n_slices:
                raise ConfigError(
                    f"{_XBAR}.adc_bits must have one entry per weight slice ({n_slices} slices for "
                    f"{self.magnitude_bits} magnitude bits in {self.cell_bits}-bit cells); got {bits!r}."
                )
            for b in bits:
                check_int(_XBAR, "adc_bits[i]", b, lo, 24, hint=hint)
            object.__setattr__(self, "adc_bits", tuple(int(b) for b in bits))
        elif bits is not None:
            check_int(_XBAR, "adc_bits", bits, lo, 24, hint=hint or "Use None for an ideal ADC.")
            object.__setattr__(self, "adc_bits", int(bits))
        rng = self.adc_range
        if isinstance(rng, str):
            check_choice(_XBAR, "adc_range", rng, ("max", "calibrated"))
        elif isinstance(rng, (tuple, list)):
            if len(rng) != n_slices:
                raise ConfigError(
                    f"{_XBAR}.adc_range must have one full scale per weight slice ({n_slices}); "
                    f"got {rng!r}."
                )
            for v in rng:
                check_float(_XBAR, "adc_range[i]", v, 0.0, None, lo_open=True)
            object.__setattr__(self, "adc_range", tuple(float(v) for v in rng))
        else:
            check_float(_XBAR, "adc_range", rng, 0.0, None, lo_open=True,
                        hint='Use "max", "calibrated", or a positive full scale in cell levels.')
            object.__setattr__(self, "adc_range", float(rng))

    # ---- derived quantities -------------------------------------------------------------
    @property
    def q_max(self) -> int:
        """Largest representable weight ``2**(Wb-1) - 1``; the range is ``[-q_max, q_max]``."""
        return 2 ** (self.weight_bits - 1) - 1

    @property
    def offset(self) -> int:
        """Offset added to weights under ``encoding="offset"`` (0 for differential)."""
        return self.q_max if self.encoding == "offset" else 0

    @property
    def magnitude_bits(self) -> int:
        """Bits of the unsigned value each column set stores."""
        if self.encoding == "differential":
            return self.weight_bits - 1
        return max(1, (2 * self.q_max).bit_length())

    @property
    def n_slices(self) -> int:
        """Cells per stored magnitude ``S = ceil(magnitude_bits / cell_bits)``."""
        return math.ceil(self.magnitude_bits / self.cell_bits)

    @property
    def data_cols(self) -> int:
        """Weight columns per array: ``cols``, or ``cols - 1`` beside a reference column."""
        return self.cols - 1 if self.gmin_removal == "reference" else self.cols

    @property
    def n_signs(self) -> int:
        """Column sets per weight: 2 for differential, 1 for offset."""
        return 2 if self.encoding == "differential" else 1

    @property
    def x_min(self) -> int:
        """Smallest allowed input value."""
        return -(2 ** (self.input_bits - 1)) if self.signed_inputs else 0

    @property
    def x_max(self) -> int:
        """Largest allowed input value."""
        return 2 ** (self.input_bits - 1) - 1 if self.signed_inputs else 2**self.input_bits - 1

    @property
    def n_magnitude_cycles(self) -> int:
        """Cycles for the non-sign input bits."""
        bits = self.input_bits - 1 if self.signed_inputs else self.input_bits
        return math.ceil(bits / self.dac_bits) if bits > 0 else 0

    @property
    def n_cycles(self) -> int:
        """Input cycles per MVM (the sign bit of signed inputs takes a cycle of its own)."""
        return self.n_magnitude_cycles + (1 if self.signed_inputs else 0)

    @property
    def cycle_weights(self) -> tuple[int, ...]:
        """Digital weight of each cycle's result: ``2**(d t)``, and ``-2**(Ab-1)`` for the sign."""
        w = [2 ** (self.dac_bits * t) for t in range(self.n_magnitude_cycles)]
        if self.signed_inputs:
            w.append(-(2 ** (self.input_bits - 1)))
        return tuple(w)

    @property
    def max_column_sum(self) -> int:
        """Largest ideal column sum ``R (2**c - 1)(2**d - 1)`` in cell-level units."""
        return self.rows * (2**self.cell_bits - 1) * (2**self.dac_bits - 1)

    @property
    def level_conductance(self) -> float:
        """Conductance step between adjacent cell levels ``dg`` [S]."""
        return (self.g_max - self.g_min) / (2**self.cell_bits - 1)

    @property
    def physical_programming_std(self) -> float:
        """Std of the PytorX programming term in level units (see ``NoiseConfig``); 0 when off."""
        noise = self.noise
        if not noise.physical_programming:
            return 0.0
        if noise.physical_programming_bits is None:
            return 1.0 / 3.0
        return (2**self.cell_bits - 1) / (3.0 * 2**noise.physical_programming_bits)

    def slice_adc_bits(self) -> tuple[int | None, ...]:
        """ADC bits of each slice (least significant first); ``None`` = ideal."""
        if isinstance(self.adc_bits, tuple):
            return self.adc_bits
        return (self.adc_bits,) * self.n_slices

    @property
    def n_converted_signs(self) -> int:
        """ADC conversions per (weight column, slice): ``n_signs``, or 1 under ``"subtract"``."""
        return 1 if self.differential_adc == "subtract" else self.n_signs

    def adc_top_code(self, bits: int) -> int:
        """Largest code of a ``bits``-bit ADC: ``2**B - 1``, or ``2**(B-1) - 1`` for the signed
        (``"subtract"``) ADC, whose codes are symmetric around 0."""
        return 2 ** (bits - 1) - 1 if self.differential_adc == "subtract" else 2**bits - 1

    @property
    def lossless_adc_bits(self) -> int:
        """Fewest ADC bits whose top code reaches ``max_column_sum`` (step 1: lossless)."""
        bits = self.max_column_sum.bit_length()
        return bits + 1 if self.differential_adc == "subtract" else bits

    @property
    def adc_is_lossless(self) -> bool:
        """True when every slice's ADC reproduces every possible column sum exactly."""
        bits = self.slice_adc_bits()
        if all(b is None for b in bits):
            return True
        if self.adc_range != "max":
            return False
        return all(b is None or self.adc_top_code(b) >= self.max_column_sum for b in bits)

    # ---- serialization ----------------------------------------------------------------
    def replace(self, **changes: Any) -> CrossbarConfig:
        """Return a copy with ``changes`` applied and validated (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict; :meth:`from_dict` inverts it exactly.

        Fields added after the first release (:data:`_LATER_FIELDS`) are left out at their default,
        so a design that does not use them keeps the JSON text and the design key (and stores) it
        had before.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in _LATER_FIELDS and v == f.default:
                continue
            if isinstance(v, NoiseConfig):
                v = {g.name: getattr(v, g.name) for g in dataclasses.fields(v)}
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossbarConfig:
        """Build from :meth:`to_dict` output (or a JSON object); unknown keys are an error."""
        if not isinstance(data, dict):
            raise ConfigError(f"{_XBAR}.from_dict needs a dict; got {type(data).__name__}.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{_XBAR}.from_dict: unknown keys {unknown}; allowed: {sorted(known)}.")
        kw = dict(data)
        if "noise" in kw and isinstance(kw["noise"], dict):
            nk = {f.name for f in dataclasses.fields(NoiseConfig)}
            bad = sorted(set(kw["noise"]) - nk)
            if bad:
                raise ConfigError(f"{_NOISE}.from_dict: unknown keys {bad}; allowed: {sorted(nk)}.")
            kw["noise"] = NoiseConfig(**kw["noise"])
        for key in ("adc_bits", "adc_range"):
            if isinstance(kw.get(key), list):
                kw[key] = tuple(kw[key])
        return cls(**kw)

    def to_json(self) -> str:
        """Canonical JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CrossbarConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
