"""Component cost model: event counts in, area / energy / latency out (DESIGN §4).

Mapping hands the model plain data: :class:`OpCounts` per layer (one inference) and the layer's
:class:`~crossbar.config.CrossbarConfig` for :func:`estimate_cost`, or a :class:`Workload` (layer
shapes only) and a :class:`DesignSet` (arrays of design variables) for the vectorized
:func:`estimate_costs`. Every number comes from a :class:`~crossbar.tech.Technology`; what the
technology does not give is charged as zero and named in ``missing`` (:func:`missing_costs`).

Model (per layer ``l``, per inference; ``V`` input vectors, ``T`` input cycles, ``A`` arrays):

* **Counts.** As :meth:`crossbar.ProgrammedMatrix.op_counts` (see :func:`matrix_op_counts`):
  every used column of every row tile is converted once per input cycle per vector; every array
  is read once per cycle per vector; every used row of every column array is driven once per cycle
  per vector; one shift-add and one sample-and-hold sample per conversion. Buffer traffic: each
  input vector's ``n_in`` activations are read from the buffer (the im2col stream, no reuse in
  the input registers: an upper bound for convolutions) and each output vector's ``n_out`` values
  are written back, both at ``input_bits`` per value (outputs are re-quantized to the activation
  precision before they are stored), packed (bits / 8 bytes).
* **Energy** = events x per-event energy. ADC: the technology's resolution law (default
  architecture) at each slice's bits, averaged over the slices (every slice has the same number of
  columns); an ideal ADC (``adc_bits=None``) is costed at the lossless resolution
  ``bit_length(rows (2^c - 1)(2^d - 1))``. Energy per conversion does not depend on the sample
  rate. DAC: :func:`~crossbar.tech.dac_energy` at ``dac_bits`` per row activation. Array: every
  read charges the whole array, ``rows x cols x`` the per-cell read energy (ISAAC's lumped
  0.3 mW per active 128 x 128 array = 30 pJ per read); the cell count carries the cell-bits
  dependence. Without a per-cell energy, an Ohmic device model charges each cell
  ``V_read^2 (g_on + g_off) / 2 x t_pulse`` (every row driven, levels uniform between the two
  conductances; ``t_pulse = min(1 / frequency, technology read cycle)``). Sample-and-hold and
  shift-add: per conversion. Buffer: per byte moved.
* **Component-table rows without a per-event model** (ISAAC: input/output registers, eDRAM bus,
  router, sigmoid, max-pool, tile shift-add, HyperTransport) are charged pro rata per array:
  a row's group power and area are divided by the arrays of its level (``arrays_per_ima``, times
  ``imas_per_tile`` for tile rows, times ``tiles_per_chip`` for chip rows) and by ``shared_by``.
  Dynamic rows cost ``power share x technology read cycle`` per array read (the energy they use
  per read at the table's operating point; it does not scale with rows, cols or bits); static rows
  (``static: true``) draw their power share for the whole inference interval ``1 / throughput``.
  Rows that a per-event model replaces (ADC, DAC, S+H, crossbar, IMA shift-add, eDRAM buffer)
  are skipped.
* **Area** (every layer on its own arrays; the same for both latency modes): per array
  ``rows x cols x`` cell area, ``ceil(cols / columns_per_adc)`` ADCs at the largest slice
  resolution, one DAC per row, one sample-and-hold per column, one shift-add unit per ADC, plus
  the pro-rata table rows; buffers by capacity: each layer's unique input activations (a conv's
  ``C x H x W`` feature map, a linear layer's ``in_features``) at ``input_bits``, times the
  buffer's area per byte (pipelined: every layer keeps its own input).
* **Latency.** One array read per input cycle per input vector. The time of one cycle is
  ``tau = max(1 / frequency, t_adc)``, where ``t_adc`` is the time one ADC needs for its
  ``ceil(cols / n_adcs)`` columns: ``(N + 1) / (N_ref + 1) / sample_rate`` per conversion for SAR
  (one bit per comparator cycle plus sampling, as NeuroSim's ``SarADC.cpp``; ``N_ref`` is the
  technology's published resolution at that sample rate) and ``1 / sample_rate`` for flash, at the
  largest slice resolution. A layer's arrays work in parallel, so the layer is busy
  ``L = V x T x tau``. *Layer-sequential*: ``sum_l L_l``. *Pipelined* (ISAAC-style: every layer on
  its own arrays, layers overlap, in network order): layer ``l`` starts once its predecessor has
  produced one vector (``start_l = start_(l-1) + T_(l-1) tau_(l-1)``) and cannot finish before its
  predecessor plus one vector time, ``end_l = max(start_l + L_l, end_(l-1) + T_l tau_l)``; the
  latency is ``end`` of the last layer and the throughput ``1 / max_l L_l`` inferences/s (no layer
  replication; branches, e.g. ResNet shortcuts, are treated as part of the chain).

References:
    Shafiee et al., "ISAAC", ISCA 2016, Table I and Sec. IV (100 ns read cycle, 128 columns per
    ADC at 1.28 GS/s). DNN+NeuroSim V1.3 ``SarADC.cpp`` (SAR latency ``N + 1`` cycles).
    ``reference/cost-model.md`` §1, §9.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Protocol

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError, ShapeError
from crossbar.tech import Technology, adc_area, adc_energy, dac_area, dac_energy

__all__ = [
    "COMPONENTS", "ComponentCost", "CostReport", "DesignSet", "LayerCost", "OpCounts", "SupportsWorkload",
    "Workload", "estimate_cost", "estimate_costs", "matrix_op_counts", "missing_costs",
]

COMPONENTS: tuple[str, ...] = ("adc", "dac", "array", "sample_hold", "shift_add", "buffer",
                               "registers", "interconnect", "other")
"""Cost categories of every breakdown, in report order."""

_PERIPHERY = ("registers", "interconnect", "other")
# Component-table rows (level, name) -> category; rows not listed are "other".
_ROW_CATEGORY = {
    ("ima", "adc"): "adc", ("ima", "dac"): "dac", ("ima", "sample_hold"): "sample_hold",
    ("ima", "crossbar"): "array", ("ima", "shift_add"): "shift_add", ("tile", "edram_buffer"): "buffer",
    ("ima", "input_register"): "registers", ("ima", "output_register"): "registers",
    ("tile", "output_register"): "registers", ("tile", "bus"): "interconnect",
    ("tile", "router"): "interconnect", ("chip", "hypertransport"): "interconnect",
}
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
    """ADC conversions: every used column (every slice, both columns of a differential pair)
    of every row tile, every input cycle, every input vector."""
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
    phys_cols = n_out * config.n_slices * config.n_signs
    col_arrays = -(-phys_cols // config.cols)
    per_vec_conv = n_tiles * phys_cols * config.n_cycles
    return OpCounts(
        n_macs=batch * n_in * n_out,
        n_arrays=n_tiles * col_arrays,
        n_array_reads=batch * n_tiles * col_arrays * config.n_cycles,
        n_adc_conversions=batch * per_vec_conv,
        n_dac_activations=batch * n_in * col_arrays * config.n_cycles,
        n_shift_adds=batch * per_vec_conv,
    )


# ---- reports -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentCost:
    """Energy and area of one cost category."""

    energy: float
    """Energy per inference [J]."""
    area: float
    """Area [m^2]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerCost:
    """Cost of one layer (its own arrays, one inference)."""

    energy: float
    """Energy per inference, including its share of static power [J]."""
    area: float
    """Area of its arrays, their periphery and its buffer share [m^2]."""
    latency: float
    """Busy time per inference ``V x T x tau`` [s]."""
    n_arrays: int
    """Arrays it occupies [1]."""
    breakdown: Mapping[str, ComponentCost]
    """Per category (:data:`COMPONENTS`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CostReport:
    """Area, energy, latency and throughput of a mapped network (model: see the module docstring).

    Example:
        >>> from crossbar.config import CrossbarConfig
        >>> from crossbar.tech import load_technology
        >>> cfg = CrossbarConfig(weight_bits=16, input_bits=16, adc_bits=8, encoding="offset")
        >>> counts = matrix_op_counts((128, 128), cfg, batch=1)
        >>> r = estimate_cost(counts, load_technology("isaac_ce_32nm"), cfg)
        >>> r.layers["layer0"].n_arrays, round(r.latency * 1e6, 3)   # 16 cycles of 100 ns
        (8, 1.6)
        >>> round(r.breakdown["array"].energy * 1e12, 1)              # 8 arrays x 16 reads x 30 pJ
        3840.0
    """

    area: float
    """Total area [m^2]."""
    energy: float
    """Energy per inference, dynamic plus static power over ``1 / throughput`` [J]."""
    latency: float
    """Pipelined latency of one inference [s]."""
    latency_sequential: float
    """Layer-sequential latency of one inference (sum of the layers' busy times) [s]."""
    throughput: float
    """Pipelined inferences per second, ``1 / max layer busy time`` [1/s]."""
    static_power: float
    """Static power of the table rows charged to these arrays [W]."""
    breakdown: Mapping[str, ComponentCost]
    """Per category (:data:`COMPONENTS`), summed over layers."""
    layers: Mapping[str, LayerCost]
    """Per layer, in network order."""
    missing: tuple[str, ...]
    """Costs the technology does not give (charged as zero)."""

    @property
    def area_mm2(self) -> float:
        """Total area [mm^2]."""
        return self.area * 1e6

    @property
    def n_arrays(self) -> int:
        """Arrays of all layers [1]."""
        return sum(layer.n_arrays for layer in self.layers.values())


# ---- design sets and workloads -------------------------------------------------------------
def _int_array(owner: str, name: str, value, n: int | None, lo: int, hi: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ConfigError(f"{owner}.{name} must hold integers; got dtype {arr.dtype} ({value!r:.80}).")
    if arr.ndim > 1 or (n is not None and arr.ndim == 1 and arr.shape[0] != n):
        raise ShapeError(f"{owner}.{name} must be a scalar or have shape ({n},); got shape {arr.shape}.")
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise ConfigError(f"{owner}.{name} must lie in [{lo}, {hi}]; got min {arr.min()}, max {arr.max()}.")
    return arr.astype(np.int64)


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

    def __post_init__(self) -> None:
        own = "DesignSet"
        sizes = {np.asarray(getattr(self, f)).shape[0] for f in
                 ("rows", "cols", "cell_bits", "weight_bits", "input_bits", "dac_bits", "frequency",
                  "encoding", "signed_inputs") if np.asarray(getattr(self, f)).ndim == 1}
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
            put(self, "adc_bits", bits)
        for name in ("rows", "cols", "cell_bits", "weight_bits", "input_bits", "dac_bits", "frequency",
                     "encoding", "signed_inputs") + (() if self.adc_bits is None else ("adc_bits",)):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def n_signs(self) -> np.ndarray:
        """Column sets per weight: 2 differential, 1 offset, ``(n,)``."""
        return np.where(self.encoding == "differential", 2, 1)

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
            return np.frexp(max_sum.astype(np.float64))[1].astype(np.int64)[:, None]
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
            encoding=str(self.encoding[i]), signed_inputs=bool(self.signed_inputs[i]))

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
                bits = [b if b is not None else c.max_column_sum.bit_length() for b in c.slice_adc_bits()]
                rows.append(bits + [bits[-1]] * (k - len(bits)) if per_slice else bits[:1])
            adc = np.array(rows, dtype=np.int64)
            adc = adc if per_slice else adc[:, 0]
        return cls(**{name: np.array([getattr(c, name) for c in configs]) for name in
                      ("rows", "cols", "cell_bits", "weight_bits", "input_bits", "dac_bits", "frequency",
                       "encoding", "signed_inputs")}, adc_bits=adc)


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
def missing_costs(tech: Technology) -> tuple[str, ...]:
    """What ``tech`` does not give, and that the cost model therefore charges as zero.

    Example:
        >>> from crossbar.tech import load_technology
        >>> missing_costs(load_technology("isaac_ce_32nm"))
        ()
        >>> missing_costs(load_technology("neurosim_v1_3_22nm"))[:2]
        ('adc.area: no area law for the flash ADC', 'dac: no DAC model (energy and area)')
    """
    out = []
    model = getattr(tech.adc, tech.adc.default)
    if (model.area if tech.adc.default == "sar" else model.area_per_comparator) is None:
        out.append(f"adc.area: no area law for the {tech.adc.default} ADC")
    if tech.adc.sample_rate is None:
        out.append("adc.sample_rate: ADC conversion time (latency set by the read rate only)")
    if tech.dac is None:
        out.append("dac: no DAC model (energy and area)")
    if tech.crossbar.read_energy_per_cell is None and tech.device is None:
        out.append("array.read_energy: neither a per-cell read energy nor a device model")
    if tech.crossbar.area_per_cell is None:
        out.append("array.area: no area per cell")
    for name in ("sample_hold", "shift_add", "buffer"):
        if getattr(tech, name) is None:
            out.append(f"{name}: no model (energy and area)")
    if not tech.components:
        out.append("registers, interconnect, other: no component table")
    elif _hierarchy(tech) is None:
        out.append("registers, interconnect, other: component table without the IMA/tile/chip "
                   "hierarchy to apportion it per array")
    return tuple(out)


def _hierarchy(tech: Technology) -> dict[str, int] | None:
    s = tech.structure
    if None in (s.arrays_per_ima, s.imas_per_tile, s.tiles_per_chip):
        return None
    per_tile = s.arrays_per_ima * s.imas_per_tile
    return {"ima": s.arrays_per_ima, "tile": per_tile, "chip": per_tile * s.tiles_per_chip}


def _periphery(tech: Technology) -> dict[str, tuple[float, float, float]]:
    """Category -> (energy per array read [J], static power per array [W], area per array [m^2])."""
    out = {c: [0.0, 0.0, 0.0] for c in COMPONENTS}
    arrays = _hierarchy(tech)
    modelled = {"adc", "array"} | {c for c in ("dac", "sample_hold", "shift_add", "buffer")
                                   if getattr(tech, c) is not None}
    if arrays is not None:
        for row in tech.components:
            category = _ROW_CATEGORY.get((row.level, row.name), "other")
            if category in modelled:
                continue
            share = 1.0 / (arrays[row.level] * row.shared_by)
            if row.static:
                out[category][1] += row.power * share
            else:
                out[category][0] += row.power * share * tech.timing.read_cycle
            out[category][2] += row.area * share
    return {c: tuple(v) for c, v in out.items()}


def _units(tech: Technology, *, rows, cols, slice_bits, n_slices, dac_bits,
           frequency) -> dict[str, np.ndarray]:
    """Per-event energies, per-array areas and the cycle time of each design (vectorized).

    All arguments are ``(n,)`` arrays except ``slice_bits`` ``(n, k)``; entries ``s >= n_slices``
    are ignored. Returns ``(n,)`` float64 arrays.
    """
    k = slice_bits.shape[1]
    mask = np.arange(k)[None, :] < np.minimum(n_slices, k)[:, None]
    n_used = mask.sum(axis=1)
    e_conv = np.where(mask, adc_energy(slice_bits, tech), 0.0).sum(axis=1) / n_used
    b_max = np.where(mask, slice_bits, 0).max(axis=1)
    arch = tech.adc.default
    has_area = (tech.adc.sar.area if arch == "sar" else tech.adc.flash.area_per_comparator) is not None
    a_adc = adc_area(b_max, tech) if has_area else np.zeros(b_max.shape)
    n_adc = -(-cols // tech.structure.columns_per_adc)
    cols_per_adc = -(-cols // n_adc)
    if tech.adc.sample_rate is None:
        t_conv = np.zeros(b_max.shape)
    elif arch == "sar":
        t_conv = (b_max + 1.0) / ((tech.structure.adc_bits + 1.0) * tech.adc.sample_rate)
    else:
        t_conv = np.full(b_max.shape, 1.0 / tech.adc.sample_rate)
    tau = np.maximum(1.0 / frequency, cols_per_adc * t_conv)
    if tech.crossbar.read_energy_per_cell is not None:
        e_cell = np.full(frequency.shape, tech.crossbar.read_energy_per_cell)
    elif tech.device is not None:
        dev = tech.device
        g_mean = 0.5 * (1.0 / dev.r_on + 1.0 / dev.r_off)
        e_cell = dev.read_voltage**2 * g_mean * np.minimum(1.0 / frequency, tech.timing.read_cycle)
    else:
        e_cell = np.zeros(frequency.shape)
    cells = (rows * cols).astype(np.float64)
    zero = np.zeros(frequency.shape)
    sh, sa, buf = tech.sample_hold, tech.shift_add, tech.buffer
    return {
        "e_conv": e_conv, "tau": tau, "e_read": cells * e_cell,
        "e_dac": zero if tech.dac is None else dac_energy(dac_bits, tech) + zero,
        "e_sh": zero + (0.0 if sh is None else sh.energy),
        "e_sa": zero + (0.0 if sa is None else sa.energy),
        "e_byte": zero + (0.0 if buf is None else buf.energy_per_byte),
        "a_adc": n_adc * a_adc,
        "a_array": cells * (tech.crossbar.area_per_cell or 0.0),
        "a_dac": zero if tech.dac is None else rows * dac_area(dac_bits, tech),
        "a_sh": cols * (0.0 if sh is None else sh.area) + zero,
        "a_sa": n_adc * (0.0 if sa is None else sa.area) + zero,
        "a_byte": zero + (0.0 if buf is None else buf.area / buf.capacity),
    }


def _core(c: dict[str, np.ndarray], n_cycles: np.ndarray, u: dict[str, np.ndarray],
          periphery: dict[str, tuple[float, float, float]]):
    """Energy/area per (design, layer, category), busy times and latencies.

    ``c`` holds ``(D, L)`` counts (``conv, shift_adds, reads, dac, arrays, vec_cycles,
    buffer_bytes, store_bytes``); ``n_cycles`` and every unit in ``u`` broadcast to ``(D, L)``.
    """
    busy = c["vec_cycles"] * u["tau"]
    interval = busy.max(axis=1)
    energy = {
        "adc": c["conv"] * u["e_conv"], "dac": c["dac"] * u["e_dac"], "array": c["reads"] * u["e_read"],
        "sample_hold": c["conv"] * u["e_sh"], "shift_add": c["shift_adds"] * u["e_sa"],
        "buffer": c["buffer_bytes"] * u["e_byte"],
    }
    area = {
        "adc": c["arrays"] * u["a_adc"], "dac": c["arrays"] * u["a_dac"],
        "array": c["arrays"] * u["a_array"], "sample_hold": c["arrays"] * u["a_sh"],
        "shift_add": c["arrays"] * u["a_sa"], "buffer": c["store_bytes"] * u["a_byte"],
    }
    static = np.zeros(busy.shape)
    for cat in _PERIPHERY:
        e_read, p_static, a_arr = periphery[cat]
        energy[cat] = c["reads"] * e_read + c["arrays"] * (p_static * interval[:, None])
        area[cat] = c["arrays"] * a_arr
        static = static + c["arrays"] * p_static
    fill = n_cycles * u["tau"] + np.zeros(busy.shape)
    start = np.zeros(interval.shape)
    end = busy[:, 0].copy()
    for layer in range(1, busy.shape[1]):
        start = start + fill[:, layer - 1]
        end = np.maximum(start + busy[:, layer], end + fill[:, layer])
    return energy, area, busy, end, busy.sum(axis=1), interval, static.sum(axis=1)


# ---- scalar --------------------------------------------------------------------------------
def estimate_cost(counts: OpCounts | Mapping[str, OpCounts], tech: Technology,
                  config: CrossbarConfig | Mapping[str, CrossbarConfig]) -> CostReport:
    """Area, energy, latency and throughput of a mapped network from its per-layer event counts.

    Args:
        counts: Per-layer counts of ONE inference, ``{name: OpCounts}`` in network order (e.g.
            ``NetworkPlan.layer_counts``); a single :class:`OpCounts` is one layer named
            ``"layer0"`` (do not pass a network's summed counts: latency needs each layer's).
        tech: Technology (per-event energies, areas, ADC sample rate, component table).
        config: The crossbar design of every layer, or ``{name: config}`` with the keys of
            ``counts``.

    Returns:
        The report (SI units; the model is stated in the module docstring).

    Raises:
        ConfigError: Mismatched layer names, wrong types, or counts that no config can produce.

    Example:
        >>> from crossbar.config import CrossbarConfig
        >>> from crossbar.tech import load_technology
        >>> cfg = CrossbarConfig(adc_bits=6)
        >>> c = {"fc1": matrix_op_counts((64, 100), cfg, batch=1),
        ...      "fc2": matrix_op_counts((100, 10), cfg, batch=1)}
        >>> r = estimate_cost(c, load_technology("isaac_ce_32nm"), cfg)
        >>> list(r.layers), r.n_arrays, f"{r.latency_sequential:.1e}"
        (['fc1', 'fc2'], 8, '1.6e-06')
    """
    if not isinstance(tech, Technology):
        raise ConfigError(f"estimate_cost: tech must be a Technology (load_technology(...)); got "
                          f"{tech!r:.80}.")
    layer_counts = {"layer0": counts} if isinstance(counts, OpCounts) else dict(counts)
    if not layer_counts or not all(isinstance(v, OpCounts) for v in layer_counts.values()):
        raise ConfigError("estimate_cost: counts must be an OpCounts or a non-empty {name: OpCounts}.")
    if isinstance(config, CrossbarConfig):
        configs = dict.fromkeys(layer_counts, config)
    elif isinstance(config, Mapping) and set(config) == set(layer_counts):
        configs = {name: config[name] for name in layer_counts}
    else:
        raise ConfigError(f"estimate_cost: config must be a CrossbarConfig or a mapping with the layer "
                          f"names of counts {list(layer_counts)}; got {config!r:.120}.")
    if not all(isinstance(cfg, CrossbarConfig) for cfg in configs.values()):
        raise ConfigError("estimate_cost: every config must be a CrossbarConfig.")
    names = list(layer_counts)
    cfgs = [configs[n] for n in names]
    cnts = [layer_counts[n] for n in names]
    for name, cnt, cfg in zip(names, cnts, cfgs, strict=True):
        per_vector = cnt.n_arrays * cfg.n_cycles
        if (cnt.n_array_reads % per_vector if per_vector else cnt.n_array_reads):
            raise ConfigError(f"estimate_cost: layer {name!r} has {cnt.n_array_reads} array reads, not a "
                              f"multiple of n_arrays x n_cycles = {per_vector}; counts and config "
                              "disagree (pass per-layer counts, e.g. NetworkPlan.layer_counts, not a "
                              "network's sum).")
    designs = DesignSet.from_configs(cfgs)
    units = _units(tech, rows=designs.rows, cols=designs.cols, slice_bits=designs.slice_adc_bits(),
                   n_slices=designs.n_slices, dac_bits=designs.dac_bits, frequency=designs.frequency)

    def row(values) -> np.ndarray:
        return np.array(values, dtype=np.float64)[None, :]

    arrays = [cnt.n_arrays for cnt in cnts]
    c = {
        "conv": row([x.n_adc_conversions for x in cnts]), "shift_adds": row([x.n_shift_adds for x in cnts]),
        "reads": row([x.n_array_reads for x in cnts]), "dac": row([x.n_dac_activations for x in cnts]),
        "arrays": row(arrays), "buffer_bytes": row([x.buffer_bytes for x in cnts]),
        "store_bytes": row([x.n_buffer_bits / 8 for x in cnts]),
        "vec_cycles": row([x.n_array_reads // x.n_arrays if x.n_arrays else 0 for x in cnts]),
    }
    energy, area, busy, latency, sequential, interval, static = _core(
        c, row([cfg.n_cycles for cfg in cfgs]), {k: v[None, :] for k, v in units.items()}, _periphery(tech))
    layers = {}
    for j, name in enumerate(names):
        parts = {cat: ComponentCost(energy=float(energy[cat][0, j]), area=float(area[cat][0, j]))
                 for cat in COMPONENTS}
        layers[name] = LayerCost(
            energy=math.fsum(p.energy for p in parts.values()),
            area=math.fsum(p.area for p in parts.values()), latency=float(busy[0, j]),
            n_arrays=arrays[j], breakdown=MappingProxyType(parts))
    breakdown = {cat: ComponentCost(energy=math.fsum(energy[cat][0]), area=math.fsum(area[cat][0]))
                 for cat in COMPONENTS}
    return CostReport(
        area=math.fsum(p.area for p in breakdown.values()),
        energy=math.fsum(p.energy for p in breakdown.values()),
        latency=float(latency[0]), latency_sequential=float(sequential[0]),
        throughput=1.0 / float(interval[0]) if interval[0] > 0 else math.inf,
        static_power=float(static[0]), breakdown=MappingProxyType(breakdown),
        layers=MappingProxyType(layers), missing=missing_costs(tech))


# ---- vectorized ----------------------------------------------------------------------------
def estimate_costs(workload: Workload | SupportsWorkload, designs: DesignSet,
                   tech: Technology) -> dict[str, np.ndarray]:
    """Cost of one network under many crossbar designs at once (same model as :func:`estimate_cost`).

    Every design applies to every layer (per-layer configs of a plan are ignored: only its
    shapes are used).

    Args:
        workload: Layer shapes: a :class:`Workload`, or an object with a ``workload`` attribute
            (``mapping.plan.NetworkPlan``).
        designs: ``n`` designs.
        tech: Technology.

    Returns:
        ``(n,)`` float64 arrays: ``"area"`` [m^2], ``"energy"`` [J per inference], ``"latency"``
        (pipelined) and ``"latency_sequential"`` [s], ``"throughput"`` [1/s], ``"static_power"``
        [W], ``"n_arrays"`` and ``"n_adc_conversions"`` [1], and ``"energy_<c>"``, ``"area_<c>"``
        for every category ``c`` of :data:`COMPONENTS`. What ``tech`` lacks: :func:`missing_costs`.

    Raises:
        ConfigError: Wrong argument types.

    Example:
        >>> from crossbar.tech import load_technology
        >>> w = Workload(names=("fc1", "fc2"), n_in=[64, 100], n_out=[100, 10], n_vectors=[1, 1],
        ...              n_input_values=[64, 100])
        >>> out = estimate_costs(w, DesignSet(adc_bits=[4, 6, 8]), load_technology("isaac_ce_32nm"))
        >>> bool(np.all(np.diff(out["energy_adc"]) > 0)), out["n_arrays"].tolist()
        (True, [8.0, 8.0, 8.0])
    """
    if not isinstance(workload, Workload):
        workload = getattr(workload, "workload", None)
        if not isinstance(workload, Workload):
            raise ConfigError("estimate_costs: workload must be a Workload or have a .workload attribute "
                              "(e.g. a mapping.plan.NetworkPlan).")
    if not isinstance(designs, DesignSet):
        raise ConfigError(f"estimate_costs: designs must be a DesignSet; got {type(designs).__name__}.")
    if not isinstance(tech, Technology):
        raise ConfigError(f"estimate_costs: tech must be a Technology; got {tech!r:.80}.")
    d = designs
    n_slices, n_cycles = d.n_slices, d.n_cycles
    units = _units(tech, rows=d.rows, cols=d.cols, slice_bits=d.slice_adc_bits(), n_slices=n_slices,
                   dac_bits=d.dac_bits, frequency=d.frequency)
    col = {"rows": d.rows[:, None], "cols": d.cols[:, None], "T": n_cycles[:, None],
           "ab": d.input_bits[:, None], "phys": (n_slices * d.n_signs)[:, None]}
    n_in, n_out, n_vec = workload.n_in[None, :], workload.n_out[None, :], workload.n_vectors[None, :]
    tiles = -(-n_in // col["rows"])
    phys = n_out * col["phys"]
    col_arrays = -(-phys // col["cols"])
    arrays = tiles * col_arrays
    vec_cycles = n_vec * col["T"]
    conv = (vec_cycles * tiles * phys).astype(np.float64)
    c = {
        "conv": conv, "shift_adds": conv, "reads": (vec_cycles * arrays).astype(np.float64),
        "dac": (vec_cycles * n_in * col_arrays).astype(np.float64), "arrays": arrays.astype(np.float64),
        "buffer_bytes": (n_vec * (n_in + n_out) * col["ab"]) / 8,
        "store_bytes": (workload.n_input_values[None, :] * col["ab"]) / 8,
        "vec_cycles": vec_cycles.astype(np.float64),
    }
    energy, area, _, latency, sequential, interval, static = _core(
        c, col["T"], {k: v[:, None] for k, v in units.items()}, _periphery(tech))
    out = {f"energy_{cat}": energy[cat].sum(axis=1) for cat in COMPONENTS}
    out.update({f"area_{cat}": area[cat].sum(axis=1) for cat in COMPONENTS})
    out["energy"] = sum(out[f"energy_{cat}"] for cat in COMPONENTS)
    out["area"] = sum(out[f"area_{cat}"] for cat in COMPONENTS)
    out.update(latency=latency, latency_sequential=sequential, throughput=1.0 / interval,
               static_power=static, n_arrays=c["arrays"].sum(axis=1), n_adc_conversions=conv.sum(axis=1))
    return out
