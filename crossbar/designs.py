"""Batches of crossbar designs and network workloads for the vectorized cost model.

:class:`DesignSet` holds ``n`` designs as arrays (one per :class:`CrossbarConfig` field that moves
cost); :class:`Workload` holds a network's layer shapes. :func:`crossbar.cost.estimate_costs`
evaluates every design on the workload at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError, ShapeError

__all__ = ["DesignSet", "SupportsWorkload", "Workload"]

def _int_array(owner: str, name: str, value, n: int | None, lo: int, hi: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ConfigError(f"{owner}.{name} must hold integers; got dtype {arr.dtype} ({value!r:.80}).")
    if arr.ndim > 1 or (n is not None and arr.ndim == 1 and arr.shape[0] != n):
        raise ShapeError(f"{owner}.{name} must be a scalar or have shape ({n},); got shape {arr.shape}.")
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise ConfigError(f"{owner}.{name} must lie in [{lo}, {hi}]; got min {arr.min()}, max {arr.max()}.")
    return arr.astype(np.int64)


_FIELDS = ("rows", "cols", "cell_bits", "weight_bits", "input_bits", "dac_bits", "frequency", "encoding",
           "signed_inputs", "differential_adc", "gmin_removal")
"""The :class:`DesignSet` fields of one entry per design (``adc_bits`` aside)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignSet:
    """Crossbar design variables of ``n`` designs, one array entry per design.

    Every field accepts a scalar (shared by all designs) or an array of shape ``(n,)``; they are
    stored broadcast to ``(n,)`` (``adc_bits`` to ``(n, k)``). Ranges are those of
    :class:`~crossbar.config.CrossbarConfig`; fields a cost does not depend on (conductances,
    noise, ADC full scale) are not design variables here.

    Example:
        >>> d = DesignSet(rows=[64, 128], cols=128, adc_bits=[6, 8], frequency=1e8)
        >>> len(d), d.rows.tolist(), d.config(1).adc_bits
        (2, [64, 128], 8)
    """

    rows: np.ndarray | int = 128
    """Rows per array [1], shape ``(n,)``."""
    cols: np.ndarray | int = 128
    """Columns per array [1]."""
    cell_bits: np.ndarray | int = 2
    """Bits per cell [bit]."""
    weight_bits: np.ndarray | int = 8
    """Signed weight precision [bit]."""
    input_bits: np.ndarray | int = 8
    """Input precision [bit]."""
    dac_bits: np.ndarray | int = 1
    """Input bits per cycle [bit]."""
    adc_bits: np.ndarray | int | None = None
    """ADC resolution [bit]: ``None`` = ideal for every design (costed at the lossless
    resolution), shape ``(n,)`` uniform, or ``(n, k)`` per slice, least significant first; a
    design uses its first ``n_slices`` entries (``k`` must cover the largest ``n_slices``)."""
    frequency: np.ndarray | float = 1.0e7
    """Crossbar read rate [Hz]."""
    encoding: np.ndarray | str = "differential"
    """``"differential"`` or ``"offset"`` per design."""
    signed_inputs: np.ndarray | bool = False
    """Two's-complement inputs (an extra sign cycle) per design."""
    differential_adc: np.ndarray | str = "separate"
    """``"separate"`` or ``"subtract"`` (one signed ADC per differential pair) per design."""
    gmin_removal: np.ndarray | str = "digital"
    """``"digital"`` or ``"reference"`` (a reference column per array, ``cols - 1`` weight
    columns) per design."""

    def __post_init__(self) -> None:
        own = "DesignSet"
        sizes = {np.asarray(getattr(self, f)).shape[0] for f in _FIELDS
                 if np.asarray(getattr(self, f)).ndim == 1}
        if self.adc_bits is not None and np.asarray(self.adc_bits).ndim >= 1:
            sizes.add(np.asarray(self.adc_bits).shape[0])
        if len(sizes) > 1:
            raise ShapeError(f"{own}: array fields must all have the same length; got lengths "
                             f"{sorted(sizes)}.")
        n = sizes.pop() if sizes else 1
        if n < 1:
            raise ShapeError(f"{own}: at least one design is needed; got n = {n}.")
        signed = np.asarray(self.signed_inputs)
        if signed.dtype != np.bool_ or signed.ndim > 1:
            raise ConfigError(f"{own}.signed_inputs must be a bool or a bool array; got "
                              f"{self.signed_inputs!r:.80}.")
        signed = np.broadcast_to(signed, (n,)).copy()
        put = object.__setattr__
        put(self, "signed_inputs", signed)
        for name, lo, hi in (("rows", 1, 65536), ("cols", 1, 65536), ("cell_bits", 1, 8),
                             ("weight_bits", 2, 24), ("input_bits", 1, 24), ("dac_bits", 1, 8)):
            arr = _int_array(own, name, getattr(self, name), n, lo, hi)
            put(self, name, np.broadcast_to(arr, (n,)).copy())
        if np.any(signed & (self.input_bits < 2)):
            raise ConfigError(f"{own}.input_bits must be >= 2 where signed_inputs is True.")
        bad = np.flatnonzero(self.dac_bits > self.input_bits)
        if bad.size:
            i = int(bad[0])
            raise ConfigError(f"{own}.dac_bits must be <= input_bits; design {i} has dac_bits="
                              f"{self.dac_bits[i]}, input_bits={self.input_bits[i]}.")
        freq = np.asarray(self.frequency)
        if not np.issubdtype(freq.dtype, np.number) or freq.dtype == np.bool_ or freq.ndim > 1:
            raise ConfigError(f"{own}.frequency must be a number or a 1-D array [Hz]; got "
                              f"{self.frequency!r:.80}.")
        freq = np.broadcast_to(freq.astype(np.float64), (n,)).copy()
        if not np.all(np.isfinite(freq) & (freq > 0)):
            raise ConfigError(f"{own}.frequency must be finite and > 0 [Hz]; got min {freq.min()!r}. "
                              "Frequency is in hertz, e.g. 1e8 for 100 MHz.")
        put(self, "frequency", freq)
        enc = np.asarray(self.encoding)
        if enc.ndim > 1 or not np.all(np.isin(enc, ("differential", "offset"))):
            raise ConfigError(f"{own}.encoding must be 'differential' or 'offset' (per design); "
                              f"got {self.encoding!r:.80}.")
        put(self, "encoding", np.broadcast_to(enc.astype("<U12"), (n,)).copy())
        mode = np.asarray(self.differential_adc)
        if mode.ndim > 1 or not np.all(np.isin(mode, ("separate", "subtract"))):
            raise ConfigError(f"{own}.differential_adc must be 'separate' or 'subtract' (per design); "
                              f"got {self.differential_adc!r:.80}.")
        mode = np.broadcast_to(mode.astype("<U8"), (n,)).copy()
        bad = np.flatnonzero((mode == "subtract") & (self.encoding != "differential"))
        if bad.size:
            raise ConfigError(f"{own}.differential_adc='subtract' needs encoding='differential'; design "
                              f"{int(bad[0])} has encoding={str(self.encoding[bad[0]])!r}.")
        put(self, "differential_adc", mode)
        gmin = np.asarray(self.gmin_removal)
        if gmin.ndim > 1 or not np.all(np.isin(gmin, ("digital", "reference"))):
            raise ConfigError(f"{own}.gmin_removal must be 'digital' or 'reference' (per design); "
                              f"got {self.gmin_removal!r:.80}.")
        gmin = np.broadcast_to(gmin.astype("<U9"), (n,)).copy()
        bad = np.flatnonzero((gmin == "reference") & (self.cols < 2))
        if bad.size:
            raise ConfigError(f"{own}.cols must be >= 2 where gmin_removal='reference' (the reference "
                              f"column takes one); design {int(bad[0])} has cols={int(self.cols[bad[0]])}.")
        put(self, "gmin_removal", gmin)
        if self.adc_bits is not None:
            bits = np.asarray(self.adc_bits)
            if bits.ndim == 2:
                if bits.shape[0] != n:
                    raise ShapeError(f"{own}.adc_bits must be (n, k) with n = {n}; got {bits.shape}.")
                bits = np.stack([_int_array(own, "adc_bits", col, n, 1, 24) for col in bits.T], axis=1)
                short = np.flatnonzero(bits.shape[1] < self.n_slices)
                if short.size:
                    i = int(short[0])
                    raise ShapeError(f"{own}.adc_bits has {bits.shape[1]} per-slice entries but design {i} "
                                     f"has {self.n_slices[i]} slices; give k >= {self.n_slices.max()}.")
            else:
                bits = np.broadcast_to(_int_array(own, "adc_bits", bits, n, 1, 24), (n,)).copy()
            used = bits if bits.ndim == 1 else np.where(np.arange(bits.shape[1]) < self.n_slices[:, None], bits, 24)
            low = np.flatnonzero((mode == "subtract") & ((used if used.ndim == 1 else used.min(axis=1)) < 2))
            if low.size:
                raise ConfigError(f"{own}.adc_bits must be >= 2 where differential_adc='subtract' (a signed "
                                  f"ADC needs a sign bit); design {int(low[0])} has {bits[low[0]]!r}.")
            put(self, "adc_bits", bits)
        for name in _FIELDS + (() if self.adc_bits is None else ("adc_bits",)):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def n_signs(self) -> np.ndarray:
        """Column sets per weight: 2 differential, 1 offset, ``(n,)``."""
        return np.where(self.encoding == "differential", 2, 1)

    @property
    def n_converted_signs(self) -> np.ndarray:
        """ADC conversions per (weight column, slice): ``n_signs``, 1 under ``"subtract"``, ``(n,)``."""
        return np.where(self.differential_adc == "subtract", 1, self.n_signs)

    @property
    def data_cols(self) -> np.ndarray:
        """Weight columns per array: ``cols``, or ``cols - 1`` beside a reference column, ``(n,)``."""
        return self.cols - (self.gmin_removal == "reference")

    @property
    def adc_inputs_per_array(self) -> np.ndarray:
        """Signals an array hands its ADCs per cycle: ``data_cols``, or ``ceil(data_cols / 2)``
        column pairs under ``"subtract"``, ``(n,)``."""
        return -(-(self.data_cols * self.n_converted_signs) // self.n_signs)

    @property
    def n_slices(self) -> np.ndarray:
        """Cells per stored magnitude, ``ceil(magnitude_bits / cell_bits)``, ``(n,)``."""
        magnitude = np.where(self.encoding == "differential", self.weight_bits - 1, self.weight_bits)
        return -(-magnitude // self.cell_bits)

    @property
    def n_cycles(self) -> np.ndarray:
        """Input cycles per MVM, ``ceil(magnitude input bits / dac_bits)`` (+1 if signed), ``(n,)``."""
        mag = self.input_bits - self.signed_inputs
        return -(-mag // self.dac_bits) + self.signed_inputs

    def slice_adc_bits(self) -> np.ndarray:
        """Resolution of every slice, ``(n, k)``; ideal ADCs at the lossless resolution."""
        if self.adc_bits is None:
            max_sum = self.rows * (2**self.cell_bits - 1) * (2**self.dac_bits - 1)
            bits = np.frexp(max_sum.astype(np.float64))[1].astype(np.int64)
            return (bits + (self.differential_adc == "subtract"))[:, None]
        return self.adc_bits if self.adc_bits.ndim == 2 else self.adc_bits[:, None]

    def config(self, i: int) -> CrossbarConfig:
        """Design ``i`` as a :class:`~crossbar.config.CrossbarConfig` (other fields default)."""
        bits: int | tuple[int, ...] | None = None
        if self.adc_bits is not None:
            bits = (int(self.adc_bits[i]) if self.adc_bits.ndim == 1
                    else tuple(int(b) for b in self.adc_bits[i, : self.n_slices[i]]))
        return CrossbarConfig(
            rows=int(self.rows[i]), cols=int(self.cols[i]), cell_bits=int(self.cell_bits[i]),
            weight_bits=int(self.weight_bits[i]), input_bits=int(self.input_bits[i]),
            dac_bits=int(self.dac_bits[i]), adc_bits=bits, frequency=float(self.frequency[i]),
            encoding=str(self.encoding[i]), signed_inputs=bool(self.signed_inputs[i]),
            differential_adc=str(self.differential_adc[i]), gmin_removal=str(self.gmin_removal[i]))

    @classmethod
    def from_configs(cls, configs: Sequence[CrossbarConfig]) -> DesignSet:
        """Design variables of ``configs`` (ideal ADCs become their lossless resolution when
        other configs have real ones).

        Example:
            >>> from crossbar.config import CrossbarConfig
            >>> DesignSet.from_configs([CrossbarConfig(adc_bits=5), CrossbarConfig()]).adc_bits.tolist()
            [5, 9]
        """
        if len(configs) == 0:
            raise ShapeError("DesignSet.from_configs: at least one config is needed.")
        per_slice = any(isinstance(c.adc_bits, tuple) for c in configs)
        adc = None
        if any(c.adc_bits is not None for c in configs):
            k = max(c.n_slices for c in configs)
            rows = []
            for c in configs:
                bits = [b if b is not None else c.lossless_adc_bits for b in c.slice_adc_bits()]
                rows.append(bits + [bits[-1]] * (k - len(bits)) if per_slice else bits[:1])
            adc = np.array(rows, dtype=np.int64)
            adc = adc if per_slice else adc[:, 0]
        return cls(**{name: np.array([getattr(c, name) for c in configs]) for name in _FIELDS}, adc_bits=adc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """Layer shapes of a network, independent of the crossbar design (plain data).

    Example:
        >>> w = Workload(names=("conv", "fc"), n_in=[27, 64], n_out=[16, 10], n_vectors=[1024, 1],
        ...              n_input_values=[3072, 64])
        >>> len(w), w.n_macs.tolist()
        (2, [442368, 640])
    """

    names: tuple[str, ...]
    """Layer names, unique, in network order."""
    n_in: np.ndarray
    """Matrix rows ``n_in`` per layer, ``(n_layers,)`` int64."""
    n_out: np.ndarray
    """Matrix columns ``n_out`` per layer."""
    n_vectors: np.ndarray
    """Input vectors per inference (``H_out x W_out`` for a conv, 1 for a linear layer)."""
    n_input_values: np.ndarray
    """Unique input activations per inference (buffer capacity) [values]."""

    def __post_init__(self) -> None:
        names = tuple(self.names)
        if not all(isinstance(s, str) for s in names) or len(set(names)) != len(names) or not names:
            raise ConfigError(f"Workload.names must be unique strings, at least one; got {names!r:.120}.")
        object.__setattr__(self, "names", names)
        for name in ("n_in", "n_out", "n_vectors", "n_input_values"):
            arr = _int_array("Workload", name, getattr(self, name), len(names), 1, 2**40)
            if arr.ndim != 1:
                raise ShapeError(f"Workload.{name} must have shape ({len(names)},); got a scalar.")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_macs(self) -> np.ndarray:
        """MACs per inference per layer, ``n_vectors x n_in x n_out``."""
        return self.n_vectors * self.n_in * self.n_out


class SupportsWorkload(Protocol):
    """Anything that describes its layer shapes (e.g. :class:`mapping.plan.NetworkPlan`)."""

    @property
    def workload(self) -> Workload: ...


# ---- per-design unit costs -----------------------------------------------------------------
