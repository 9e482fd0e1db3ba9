"""Component cost model: event counts in, area / energy / latency out (DESIGN §4).

Mapping hands the model plain data: :class:`OpCounts` per layer (one inference) and the layer's
:class:`~crossbar.config.CrossbarConfig` for :func:`estimate_cost`, or a :class:`Workload` (layer
shapes only) and a :class:`DesignSet` (arrays of design variables) for the vectorized
:func:`estimate_costs`. Every number comes from a :class:`~crossbar.tech.Technology`; what the
technology does not give is charged as zero and named in ``missing`` (:func:`missing_costs`).

Model (per layer ``l``, per inference; ``V`` input vectors, ``T`` input cycles, ``A`` arrays):

* **Counts.** As :meth:`crossbar.ProgrammedMatrix.op_counts` (see :func:`matrix_op_counts`): every
  used column of every row tile is converted once per input cycle per vector (a differential pair
  once under ``differential_adc="subtract"``); every array is read once per cycle per vector;
  every used row of every column array is driven once per cycle per vector; one shift-add and one
  sample-and-hold sample per conversion. Buffer traffic: each input vector's ``n_in`` activations
  are read from the buffer (the im2col stream, no reuse in the input registers: an upper bound for
  convolutions) and each output vector's ``n_out`` values are written back, both at ``input_bits``
  per value (outputs are re-quantized to the activation precision before they are stored), packed
  (bits / 8 bytes).
* **Energy** = events x per-event energy. ADC: the technology's resolution law (default
  architecture) at each slice's bits, averaged over the slices (every slice has the same number of
  columns); an ideal ADC (``adc_bits=None``) is costed at the lossless resolution
  ``bit_length(rows (2^c - 1)(2^d - 1))`` (one more for the signed ``"subtract"`` ADC). Energy per
  conversion does not depend on the sample rate. DAC: :func:`~crossbar.tech.dac_energy` at
  ``dac_bits`` per row activation. Array: every read charges the whole array, ``rows x cols x``
  the per-cell read energy (ISAAC's lumped 0.3 mW per active 128 x 128 array = 30 pJ per read);
  the cell count carries the cell-bits dependence. Without a per-cell energy, an Ohmic device
  model charges each cell ``V_read^2 (g_on + g_off) / 2 x t_pulse`` (every row driven, levels
  uniform between the two conductances; ``t_pulse = min(1 / frequency, technology read cycle)``).
  Sample-and-hold and shift-add: per conversion. Buffer: per byte moved.
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
  ``rows x cols x`` cell area, ``ceil(inputs / columns_per_adc)`` ADCs at the largest slice
  resolution, where ``inputs`` is the array's ADC inputs (its ``data_cols`` weight columns, or
  ``ceil(data_cols / 2)`` pairs under ``"subtract"``; the analog subtraction itself is not
  charged; ``data_cols = cols``, or ``cols - 1`` when a reference column removes ``g_min``: that
  column is part of the array's cells and reads but has no ADC input),
  one DAC per row, one sample-and-hold per ADC input, one shift-add unit per ADC, plus
  the pro-rata table rows; buffers by capacity: each layer's unique input activations (a conv's
  ``C x H x W`` feature map, a linear layer's ``in_features``) at ``input_bits``, times the
  buffer's area per byte (pipelined: every layer keeps its own input).
* **Latency.** One array read per input cycle per input vector. The time of one cycle is
  ``tau = max(1 / frequency, t_adc)``, where ``t_adc`` is the time one ADC needs for its
  ``ceil(inputs / n_adcs)`` inputs: ``(N + 1) / (N_ref + 1) / sample_rate`` per conversion for SAR
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
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from crossbar.config import CrossbarConfig
from crossbar.counts import OpCounts, matrix_op_counts  # re-exported
from crossbar.designs import DesignSet, SupportsWorkload, Workload  # re-exported
from crossbar.errors import ConfigError
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


def _units(tech: Technology, designs: DesignSet) -> dict[str, np.ndarray]:
    """Per-event energies, per-array areas and the cycle time of each design (vectorized).

    Slice entries ``s >= n_slices`` of the ADC bits are ignored. Returns ``(n,)`` float64 arrays.
    """
    rows, cols, dac_bits, frequency = designs.rows, designs.cols, designs.dac_bits, designs.frequency
    slice_bits, n_slices = designs.slice_adc_bits(), designs.n_slices
    adc_inputs = designs.adc_inputs_per_array
    k = slice_bits.shape[1]
    mask = np.arange(k)[None, :] < np.minimum(n_slices, k)[:, None]
    n_used = mask.sum(axis=1)
    e_conv = np.where(mask, adc_energy(slice_bits, tech), 0.0).sum(axis=1) / n_used
    b_max = np.where(mask, slice_bits, 0).max(axis=1)
    arch = tech.adc.default
    has_area = (tech.adc.sar.area if arch == "sar" else tech.adc.flash.area_per_comparator) is not None
    a_adc = adc_area(b_max, tech) if has_area else np.zeros(b_max.shape)
    n_adc = -(-adc_inputs // tech.structure.columns_per_adc)
    cols_per_adc = -(-adc_inputs // n_adc)
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
        "a_sh": adc_inputs * (0.0 if sh is None else sh.area) + zero,
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
    units = _units(tech, DesignSet.from_configs(cfgs))

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
    units = _units(tech, d)
    col = {"rows": d.rows[:, None], "data_cols": d.data_cols[:, None], "T": n_cycles[:, None],
           "ab": d.input_bits[:, None], "phys": (n_slices * d.n_signs)[:, None],
           "converted": (n_slices * d.n_converted_signs)[:, None]}
    n_in, n_out, n_vec = workload.n_in[None, :], workload.n_out[None, :], workload.n_vectors[None, :]
    tiles = -(-n_in // col["rows"])
    phys = n_out * col["phys"]
    col_arrays = -(-phys // col["data_cols"])
    arrays = tiles * col_arrays
    vec_cycles = n_vec * col["T"]
    conv = (vec_cycles * tiles * n_out * col["converted"]).astype(np.float64)
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
