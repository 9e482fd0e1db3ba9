"""Whole-network placement onto crossbar arrays, and the event counts that feed ``crossbar.cost``.

Every layer gets its own arrays (no sharing between layers, weights stay programmed). A layer is
one matrix (:attr:`~mapping.layers.LinearSpec.matrix_shape`): a linear layer is applied to one
input vector per inference, a convolution (im2col) to ``H_out x W_out`` vectors. Its ``n_in``
rows are split into ``ceil(n_in / rows)`` row tiles; its ``n_out x n_slices x n_signs`` physical
columns (every slice, both columns of a differential pair, packed side by side) into
``ceil(. / cols)`` column arrays. Event counts per inference are those of
:meth:`crossbar.ProgrammedMatrix.op_counts` for that many vectors, plus buffer traffic: each
vector's ``n_in`` activations read and ``n_out`` outputs written at ``input_bits`` each, and the
layer's unique input activations (``C x H x W`` or ``in_features``) held in the buffer.

Input sizes. A network is a sequence of :class:`LayerInstance` (a spec with the spatial input
size it sees and, optionally, its own crossbar config) or bare specs. A bare
:class:`~mapping.layers.Conv2dSpec` sees the output size of the previous convolution (a plain
chain of convolutions, no pooling in between), the first one ``input_hw``; use
:class:`LayerInstance` (or :func:`mapping.nn.specs.specs_from_torch`) for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import reduce
from types import MappingProxyType

from crossbar import CrossbarConfig
from crossbar.cost import CostReport, OpCounts, Workload, estimate_cost, matrix_op_counts
from crossbar.errors import ConfigError, ShapeError
from crossbar.noise import n_column_arrays
from crossbar.tech import Technology
from mapping.layers import Conv2dSpec, LayerSpec, LinearSpec

__all__ = ["LayerInstance", "NetworkPlan", "PlacedLayer", "network_workload", "place"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerInstance:
    """One layer of a network with the input size it sees.

    Example:
        >>> LayerInstance(spec=Conv2dSpec(in_channels=3, out_channels=16, kernel_size=3, padding=1),
        ...               input_hw=(32, 32)).n_vectors
        1024
    """

    spec: LayerSpec
    """The layer."""
    input_hw: tuple[int, int] | None = None
    """Spatial input ``(H, W)`` [pixels]; required for a conv, ``None`` for a linear layer."""
    config: CrossbarConfig | None = None
    """Its crossbar design; ``None``: the design passed to :func:`place`."""

    def __post_init__(self) -> None:
        if not isinstance(self.spec, (LinearSpec, Conv2dSpec)):
            raise ConfigError(f"LayerInstance.spec must be a LinearSpec or Conv2dSpec; got "
                              f"{self.spec!r:.80}.")
        if isinstance(self.spec, Conv2dSpec):
            if self.input_hw is None:
                raise ShapeError(f"LayerInstance.input_hw is required for a convolution "
                                 f"({self.spec.name or 'conv'}); give the (H, W) it sees.")
            self.spec.output_hw(self.input_hw)  # validates
            object.__setattr__(self, "input_hw", (int(self.input_hw[0]), int(self.input_hw[1])))
        elif self.input_hw is not None:
            raise ShapeError(f"LayerInstance.input_hw must be None for a linear layer; got "
                             f"{self.input_hw!r}.")
        if self.config is not None and not isinstance(self.config, CrossbarConfig):
            raise ConfigError(f"LayerInstance.config must be a CrossbarConfig or None; got "
                              f"{self.config!r:.80}.")

    @property
    def n_vectors(self) -> int:
        """Input vectors per inference: ``H_out x W_out`` for a conv, 1 for a linear layer."""
        if isinstance(self.spec, Conv2dSpec):
            h, w = self.spec.output_hw(self.input_hw)
            return h * w
        return 1

    @property
    def n_input_values(self) -> int:
        """Unique input activations per inference: ``C x H x W`` or ``in_features``."""
        if isinstance(self.spec, Conv2dSpec):
            return self.spec.in_channels * self.input_hw[0] * self.input_hw[1]
        return self.spec.in_features


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacedLayer:
    """A layer placed on its own arrays, with its per-inference event counts."""

    name: str
    """Unique layer name (the spec's name, or ``layer<i>``)."""
    instance: LayerInstance
    """The layer and its input size."""
    config: CrossbarConfig
    """The crossbar design it is placed with."""
    n_row_tiles: int
    """Row tiles ``ceil(n_in / rows)`` [1]."""
    n_col_arrays: int
    """Column arrays ``ceil(n_out x n_slices x n_signs / data_cols)`` [1] (``data_cols = cols``, or
    ``cols - 1`` beside a reference column)."""
    n_cells_used: int
    """Cells holding weights, ``n_in x n_out x n_slices x n_signs`` [1]."""
    counts: OpCounts
    """Events of one inference."""

    @property
    def n_arrays(self) -> int:
        """Arrays allocated, row tiles x column arrays [1]."""
        return self.n_row_tiles * self.n_col_arrays

    @property
    def n_cells_allocated(self) -> int:
        """Cells of the allocated arrays [1]."""
        return self.n_arrays * self.config.rows * self.config.cols

    @property
    def utilization(self) -> float:
        """Used cells / allocated cells [1]."""
        return self.n_cells_used / self.n_cells_allocated

    @property
    def n_vectors(self) -> int:
        """Input vectors per inference [1]."""
        return self.instance.n_vectors

    @property
    def macs(self) -> int:
        """MACs per inference [1]."""
        return self.counts.n_macs


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkPlan:
    """A network placed onto arrays (immutable; build with :func:`place`).

    Example:
        >>> plan = place([LinearSpec(in_features=64, out_features=100, name="fc1"),
        ...               LinearSpec(in_features=100, out_features=10, name="fc2")], CrossbarConfig())
        >>> plan.n_arrays, round(plan.utilization, 3), plan.op_counts().n_adc_conversions
        (8, 0.452, 7040)
    """

    layers: tuple[PlacedLayer, ...]
    """Placed layers in network order."""

    @property
    def n_arrays(self) -> int:
        """Arrays of all layers [1]."""
        return sum(layer.n_arrays for layer in self.layers)

    @property
    def n_macs(self) -> int:
        """MACs per inference [1]."""
        return sum(layer.macs for layer in self.layers)

    @property
    def utilization(self) -> float:
        """Used cells / allocated cells over the whole network [1]."""
        return (sum(la.n_cells_used for la in self.layers)
                / sum(la.n_cells_allocated for la in self.layers))

    @property
    def layer_counts(self) -> Mapping[str, OpCounts]:
        """``{name: counts of one inference}``, in network order (input of
        :func:`crossbar.cost.estimate_cost`)."""
        return MappingProxyType({la.name: la.counts for la in self.layers})

    @property
    def layer_configs(self) -> Mapping[str, CrossbarConfig]:
        """``{name: config}``, in network order."""
        return MappingProxyType({la.name: la.config for la in self.layers})

    @property
    def workload(self) -> Workload:
        """The layer shapes, for :func:`crossbar.cost.estimate_costs` (configs are not part of it)."""
        return _workload([la.name for la in self.layers], [la.instance for la in self.layers])

    def op_counts(self, batch: int = 1) -> OpCounts:
        """Events of ``batch`` inferences, summed over layers (arrays and buffer capacity static)."""
        return reduce(lambda a, b: a + b, (la.counts for la in self.layers)).scaled(batch)

    def cost(self, tech: Technology) -> CostReport:
        """:func:`crossbar.cost.estimate_cost` of this plan (per-layer counts and configs).

        Example:
            >>> from crossbar.tech import load_technology
            >>> plan = place([LinearSpec(in_features=64, out_features=10)], CrossbarConfig(adc_bits=6))
            >>> r = plan.cost(load_technology("isaac_ce_32nm"))
            >>> round(r.latency * 1e6, 2), r.n_arrays   # 8 cycles x 100 ns
            (0.8, 1)
        """
        return estimate_cost(self.layer_counts, tech, self.layer_configs)


def _instances(network: Sequence[LayerInstance | LayerSpec], input_hw) -> list[LayerInstance]:
    if isinstance(network, (LayerInstance, LinearSpec, Conv2dSpec)) or not isinstance(network, Sequence):
        raise ConfigError(f"network must be a sequence of LayerInstance or layer specs; got {network!r:.80}.")
    if len(network) == 0:
        raise ConfigError("network must hold at least one layer; got an empty sequence.")
    out: list[LayerInstance] = []
    hw = input_hw
    for i, item in enumerate(network):
        if isinstance(item, LayerInstance):
            inst = item
        elif isinstance(item, Conv2dSpec):
            if hw is None:
                raise ShapeError(f"network[{i}] is a bare Conv2dSpec but no input size is known; pass "
                                 "input_hw=(H, W) to place() or wrap it in "
                                 "LayerInstance(spec=..., input_hw=...).")
            inst = LayerInstance(spec=item, input_hw=hw)
        elif isinstance(item, LinearSpec):
            inst = LayerInstance(spec=item)
        else:
            raise ConfigError(f"network[{i}] must be a LayerInstance, LinearSpec or Conv2dSpec; got "
                              f"{item!r:.80}.")
        if isinstance(inst.spec, Conv2dSpec):
            hw = inst.spec.output_hw(inst.input_hw)
        out.append(inst)
    return out


def _names(instances: Sequence[LayerInstance]) -> list[str]:
    names: list[str] = []
    for i, inst in enumerate(instances):
        base = inst.spec.name or f"layer{i}"
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}#{k}"
        names.append(name)
    return names


def _workload(names: Sequence[str], instances: Sequence[LayerInstance]) -> Workload:
    return Workload(names=tuple(names), n_in=[i.spec.matrix_shape[0] for i in instances],
                    n_out=[i.spec.matrix_shape[1] for i in instances],
                    n_vectors=[i.n_vectors for i in instances],
                    n_input_values=[i.n_input_values for i in instances])


def network_workload(network: Sequence[LayerInstance | LayerSpec], *,
                     input_hw: tuple[int, int] | None = None) -> Workload:
    """Layer shapes of a network (for :func:`crossbar.cost.estimate_costs`), without placing it.

    Args:
        network: Layers; input sizes as in :func:`place`.
        input_hw: Spatial input of the first bare convolution [pixels].

    Returns:
        The workload (names as in :func:`place`).

    Raises:
        ConfigError, ShapeError: As :func:`place`.

    Example:
        >>> w = network_workload([Conv2dSpec(in_channels=3, out_channels=8, kernel_size=3, stride=2)],
        ...                      input_hw=(9, 9))
        >>> w.n_vectors.tolist(), w.n_input_values.tolist()
        ([16], [243])
    """
    instances = _instances(network, input_hw)
    return _workload(_names(instances), instances)


def place(network: Sequence[LayerInstance | LayerSpec], config: CrossbarConfig | None = None, *,
          input_hw: tuple[int, int] | None = None) -> NetworkPlan:
    """Place every layer of a network on its own crossbar arrays and count its events.

    Args:
        network: Layers in network order: :class:`LayerInstance` or bare specs (see the module
            docstring for the input sizes of bare convolutions).
        config: Crossbar design of every layer without its own ``LayerInstance.config``.
        input_hw: Spatial input ``(H, W)`` of the first bare convolution [pixels].

    Returns:
        The plan (arrays, utilization, MACs and per-inference counts per layer).

    Raises:
        ConfigError: A layer without a config, or an invalid network.
        ShapeError: A bare convolution without an input size, or an input smaller than a kernel.

    Example:
        >>> net = [Conv2dSpec(in_channels=3, out_channels=16, kernel_size=3, padding=1, name="conv"),
        ...        LinearSpec(in_features=16, out_features=10, name="fc")]
        >>> plan = place(net, CrossbarConfig(), input_hw=(32, 32))
        >>> [(la.name, la.n_arrays, la.n_vectors) for la in plan.layers]
        [('conv', 1, 1024), ('fc', 1, 1)]
    """
    if config is not None and not isinstance(config, CrossbarConfig):
        raise ConfigError(f"place: config must be a CrossbarConfig or None; got {config!r:.80}.")
    instances = _instances(network, input_hw)
    layers = []
    for name, inst in zip(_names(instances), instances, strict=True):
        cfg = inst.config or config
        if cfg is None:
            raise ConfigError(f"place: layer {name!r} has no crossbar config; pass config= or set "
                              "LayerInstance.config.")
        n_in, n_out = inst.spec.matrix_shape
        n_vec = inst.n_vectors
        counts = replace(matrix_op_counts((n_in, n_out), cfg, batch=n_vec),
                         n_buffer_read_bits=n_vec * n_in * cfg.input_bits,
                         n_buffer_write_bits=n_vec * n_out * cfg.input_bits,
                         n_buffer_bits=inst.n_input_values * cfg.input_bits)
        phys_cols = n_out * cfg.n_slices * cfg.n_signs
        layers.append(PlacedLayer(
            name=name, instance=inst, config=cfg, n_row_tiles=-(-n_in // cfg.rows),
            n_col_arrays=n_column_arrays(cfg, n_out), n_cells_used=n_in * phys_cols, counts=counts))
    return NetworkPlan(layers=tuple(layers))
