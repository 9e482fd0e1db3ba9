"""Design sweeps (users' job 1): cost and accuracy of one network under a list or grid of designs.

:func:`sweep` places the network on every design (:func:`mapping.plan.place`), costs it with the
component model (:meth:`mapping.plan.NetworkPlan.cost`, i.e. :func:`crossbar.cost.estimate_cost`)
and, when an :class:`AccuracySpec` is given, measures the trained model's accuracy through the
simulated crossbar (``"hardware"`` mode, ``n_repeats`` independent devices). Each design is one
task on an executor (:mod:`search.executors`: local processes, in-process, or Dask); its row is
appended to the HDF5 results store (:mod:`search.store`) the moment it comes back, so a killed
sweep loses only the designs in flight and a re-run skips every design already stored with
status ``"ok"`` (failed designs are tried again; their earlier failure rows stay as history).
A design whose evaluation raises is stored with status ``"failed"`` and the message; the sweep
goes on.

Every design applies to every layer (per-layer configs of a converted model are ignored). A
design's ``key`` is :func:`design_key`: a hash of its canonical JSON, so the same design gets the
same key in every run. Design keys and grids live in :mod:`search.sweep_designs`, the accuracy
spec in :mod:`search.sweep_accuracy`; both are re-exported here.

Row columns (:data:`SWEEP_COLUMNS`; SI units): the design (``config`` JSON and the main fields),
``area`` [m^2], ``energy`` [J per inference], ``latency`` (pipelined) and ``latency_sequential``
[s], ``throughput`` [1/s], ``static_power`` [W], ``n_arrays``, ``n_adc_conversions`` [1],
``accuracy_mean``/``accuracy_std`` [1] (NaN without an :class:`AccuracySpec`), ``energy_<c>`` and
``area_<c>`` for every category of :data:`crossbar.cost.COMPONENTS`, ``layers`` (JSON:
per-layer energy, area, latency, arrays) and ``seconds`` (evaluation wall time [s]).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from tqdm import tqdm

from crossbar.config import CrossbarConfig
from crossbar.cost import COMPONENTS
from crossbar.errors import ConfigError
from crossbar.tech import Technology, load_technology
from mapping.layers import Conv2dSpec, LinearSpec
from mapping.plan import LayerInstance, place
from search.executors import make_executor
from search.store import ResultStore, StoreError, fingerprint
from search.sweep_accuracy import AccuracySpec, _callable_id  # AccuracySpec re-exported
from search.sweep_designs import (  # re-exported: designs, keys and grids are part of this module's API
    _design_list,
    canonical_config,
    design_key,
    expand_grid,
)

__all__ = ["SWEEP_COLUMNS", "AccuracySpec", "SweepResult", "canonical_config", "design_key",
           "evaluate_design", "expand_grid", "load_sweep", "sweep"]

_DESIGN_COLUMNS = {"config": "str", "rows": "int64", "cols": "int64", "cell_bits": "int64",
                   "weight_bits": "int64", "input_bits": "int64", "dac_bits": "int64", "adc_bits": "str",
                   "encoding": "str", "frequency": "float64", "temperature": "float64"}
_RESULT_COLUMNS = {"area": "float64", "energy": "float64", "latency": "float64",
                   "latency_sequential": "float64", "throughput": "float64", "static_power": "float64",
                   "n_arrays": "int64", "n_adc_conversions": "int64", "accuracy_mean": "float64",
                   "accuracy_std": "float64"}
SWEEP_COLUMNS: Mapping[str, str] = MappingProxyType({
    **_DESIGN_COLUMNS, **_RESULT_COLUMNS,
    **{f"energy_{c}": "float64" for c in COMPONENTS}, **{f"area_{c}": "float64" for c in COMPONENTS},
    "layers": "str", "seconds": "float64"})
"""Columns of a sweep's results store besides ``key``, ``status`` and ``error`` (name -> dtype)."""


# ---- network -------------------------------------------------------------------------------
def _network_layers(network: Any) -> tuple[LayerInstance, ...]:
    layer_types = (LayerInstance, LinearSpec, Conv2dSpec)
    if isinstance(network, tuple) and len(network) == 2 and not isinstance(network[0], layer_types):
        from mapping.nn.specs import specs_from_torch

        model, shape = network
        if isinstance(shape, int):
            shape = (shape,)
        network = specs_from_torch(model, tuple(shape))
    elif hasattr(network, "named_modules"):
        raise ConfigError("sweep: a torch model needs the shape of one input sample; pass "
                          "(model, input_shape), e.g. (model, (1, 8, 8)).")
    plan = place(network, CrossbarConfig())
    return tuple(dataclasses.replace(la.instance, config=None) for la in plan.layers)


def _describe(layers: Sequence[LayerInstance]) -> list[dict[str, Any]]:
    plan = place(layers, CrossbarConfig())
    return [{"name": la.name, "type": type(la.instance.spec).__name__,
             "matrix_shape": list(la.instance.spec.matrix_shape),
             "input_hw": None if la.instance.input_hw is None else list(la.instance.input_hw),
             "n_vectors": la.n_vectors} for la in plan.layers]


def _tech_fields(tech: Technology) -> dict[str, Any]:
    """A picklable form of ``tech`` (its provenance table is not needed to cost a design)."""
    return {f.name: getattr(tech, f.name) for f in dataclasses.fields(tech) if f.name != "provenance"}


# ---- one design ----------------------------------------------------------------------------
def _design_fields(config: CrossbarConfig) -> dict[str, Any]:
    return {"config": config.to_json(), "rows": config.rows, "cols": config.cols,
            "cell_bits": config.cell_bits, "weight_bits": config.weight_bits,
            "input_bits": config.input_bits, "dac_bits": config.dac_bits,
            "adc_bits": json.dumps(config.adc_bits), "encoding": config.encoding,
            "frequency": float(config.frequency), "temperature": float(config.temperature)}


def evaluate_design(layers: Sequence[LayerInstance], config: CrossbarConfig, *, tech: Technology,
                    accuracy: AccuracySpec | None = None) -> dict[str, Any]:
    """Cost (and accuracy) of one design: the result columns of a sweep row.

    Args:
        layers: The network (configs ignored: ``config`` applies to every layer).
        config: The design.
        tech: Technology of the cost model.
        accuracy: Trained model and data, or ``None`` (accuracy columns NaN).

    Returns:
        ``{column: value}`` for the result columns of :data:`SWEEP_COLUMNS` (not the design
        columns, ``key``, ``status`` or ``seconds``).

    Example:
        >>> from crossbar.tech import load_technology
        >>> row = evaluate_design([LinearSpec(in_features=64, out_features=10)], CrossbarConfig(adc_bits=6),
        ...                       tech=load_technology("isaac_ce_32nm"))
        >>> row["n_arrays"], round(row["latency"] * 1e6, 2), bool(np.isnan(row["accuracy_mean"]))
        (1, 0.8, True)
    """
    plan = place([dataclasses.replace(la, config=None) if isinstance(la, LayerInstance) else la
                  for la in layers], config)
    report = plan.cost(tech)
    row: dict[str, Any] = {
        "area": report.area, "energy": report.energy, "latency": report.latency,
        "latency_sequential": report.latency_sequential, "throughput": report.throughput,
        "static_power": report.static_power, "n_arrays": report.n_arrays,
        "n_adc_conversions": plan.op_counts().n_adc_conversions,
        "accuracy_mean": float("nan"), "accuracy_std": float("nan")}
    for c in COMPONENTS:
        row[f"energy_{c}"] = report.breakdown[c].energy
        row[f"area_{c}"] = report.breakdown[c].area
    row["layers"] = json.dumps({name: {"energy": lc.energy, "area": lc.area, "latency": lc.latency,
                                       "n_arrays": lc.n_arrays} for name, lc in report.layers.items()})
    if accuracy is not None:
        row["accuracy_mean"], row["accuracy_std"] = accuracy.accuracy(config)
    return row


def _failed_row(key: str, config: CrossbarConfig, err: BaseException, seconds: float) -> dict[str, Any]:
    return {"key": key, "status": "failed", "error": f"{type(err).__name__}: {err}"[:2000],
            **_design_fields(config), "seconds": seconds}


def _evaluate_task(layers: tuple[LayerInstance, ...], config_json: str, tech_fields: dict[str, Any],
                   accuracy: AccuracySpec | None) -> dict[str, Any]:
    """Worker entry point (top-level, picklable): one full store row; errors become a failed row."""
    t0 = time.perf_counter()
    config = CrossbarConfig.from_json(config_json)
    key = design_key(config)
    try:
        row = evaluate_design(layers, config, tech=Technology(**tech_fields), accuracy=accuracy)
    except Exception as err:  # noqa: BLE001 - a failing design is recorded and the sweep goes on
        return _failed_row(key, config, err, time.perf_counter() - t0)
    return {"key": key, "status": "ok", "error": "", **_design_fields(config), **row,
            "seconds": time.perf_counter() - t0}


# ---- the sweep -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """One row per requested design, in request order (the latest ok row, else the latest failure).

    Example:
        >>> import tempfile, pathlib
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = pathlib.Path(tmp.name) / "s.h5"
        >>> res = sweep([LinearSpec(in_features=64, out_features=10)], {"adc_bits": [4, 8]},
        ...             tech="isaac_ce_32nm", store_path=path, executor="serial", progress=False)
        >>> len(res), res.n_failed, res["adc_bits"].tolist(), bool(np.all(np.diff(res["energy_adc"]) > 0))
        (2, 0, ['4', '8'], True)
        >>> tmp.cleanup()
    """

    path: Path
    """The results store."""
    columns: Mapping[str, np.ndarray]
    """``{column: (n_designs,) array}``: every store column (:data:`SWEEP_COLUMNS`, ``key``,
    ``status``, ``error``)."""
    n_new: int
    """Rows appended by this call."""
    n_skipped: int
    """Designs found already evaluated (status ok) in the store."""

    def __len__(self) -> int:
        return len(self.columns["key"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def n_failed(self) -> int:
        """Designs whose (latest) evaluation failed."""
        return int(np.sum(self.columns["status"] == "failed"))

    def configs(self) -> list[CrossbarConfig]:
        """The designs, in order."""
        return [CrossbarConfig.from_json(s) for s in self.columns["config"]]


def _result(store: ResultStore, keys: Sequence[str], n_new: int, n_skipped: int) -> SweepResult:
    cols = store.to_dict_of_arrays()
    latest: dict[str, int] = {}
    for i, (key, status) in enumerate(zip(cols["key"].tolist(), cols["status"].tolist(), strict=True)):
        if status == "ok" or latest.get(key) is None or cols["status"][latest[key]] != "ok":
            latest[key] = i
    idx = np.array([latest[k] for k in keys], dtype=np.int64)
    columns = {}
    for name, values in cols.items():
        arr = values[idx]
        arr.setflags(write=False)
        columns[name] = arr
    return SweepResult(path=store.path, columns=MappingProxyType(columns), n_new=n_new, n_skipped=n_skipped)


def load_sweep(path: str | os.PathLike[str]) -> SweepResult:
    """Every design of a sweep store, in the order first stored (latest ok row, else latest failure).

    Raises:
        StoreError: A missing or unreadable store, or one without the sweep columns.
    """
    store = ResultStore.read(path)
    missing = [c for c in SWEEP_COLUMNS if c not in store.columns]
    if missing:
        raise StoreError(f"{str(path)!r} is not a sweep results store (missing columns {missing[:5]}).")
    keys = list(dict.fromkeys(store.keys()))
    return _result(store, keys, 0, len(keys))


def sweep(network: Any, designs: Any, *, tech: Technology | str | os.PathLike[str],
          store_path: str | os.PathLike[str], accuracy: AccuracySpec | None = None, executor: Any = None,
          progress: bool = True, meta: Mapping[str, Any] | None = None) -> SweepResult:
    """Evaluate a network on many crossbar designs; every row lands in an HDF5 store as it finishes.

    Args:
        network: A sequence of :class:`~mapping.plan.LayerInstance` (or layer specs, as
            :func:`~mapping.plan.place` takes them), or ``(model, input_shape)``: a plain or
            converted torch model and the shape of one sample (traced with
            :func:`mapping.nn.specs.specs_from_torch`).
        designs: A list of :class:`~crossbar.config.CrossbarConfig`, or a grid
            ``{field: [values]}`` (:func:`expand_grid` on ``CrossbarConfig()``; call it yourself
            for another base). Duplicates are evaluated once.
        tech: A :class:`~crossbar.tech.Technology` or a name/path for
            :func:`~crossbar.tech.load_technology`.
        store_path: The results store (created, or resumed: designs stored with status ok are
            skipped). A store written for another network, technology or accuracy spec is an
            error.
        accuracy: Trained model and test data for hardware-mode accuracy; ``None``: cost only.
        executor: Anything :func:`~search.executors.make_executor` takes (default: local
            processes); an executor made here is shut down here, one passed in is left running.
        progress: Show a tqdm progress bar.
        meta: JSON-serializable metadata stored with a new store (e.g. the sweep's config file).

    Returns:
        The rows of the requested designs (see :class:`SweepResult`).

    Raises:
        ConfigError, ShapeError: Invalid network, designs, technology or accuracy spec.
        StoreError: The store is corrupt or belongs to another sweep.

    Example:
        See :class:`SweepResult`.
    """
    layers = _network_layers(network)
    configs = _design_list(designs)
    tech = tech if isinstance(tech, Technology) else load_technology(tech)
    if accuracy is not None and not isinstance(accuracy, AccuracySpec):
        raise ConfigError(f"sweep: accuracy must be an AccuracySpec or None; got {accuracy!r:.80}.")
    described = _describe(layers)
    acc_meta = None if accuracy is None else {"n_samples": len(accuracy.y), "n_repeats": accuracy.n_repeats,
                                               "seed": accuracy.seed, "model": _callable_id(accuracy.build)}
    store = ResultStore.open(
        store_path, columns=SWEEP_COLUMNS,
        fingerprint=fingerprint("xbarsim-sweep", [repr(la) for la in layers], repr(tech),
                                None if accuracy is None else accuracy.digest()),
        meta={"kind": "sweep", "technology": tech.name, "network": described, "accuracy": acc_meta,
              "user": dict(meta or {})})
    keys = [design_key(c) for c in configs]
    stored = store.to_dict_of_arrays(columns=("key", "status"))
    done = {k for k, s in zip(stored["key"].tolist(), stored["status"].tolist(), strict=True) if s == "ok"}
    todo = [(k, c) for k, c in zip(keys, configs, strict=True) if k not in done]
    n_skipped = len(configs) - len(todo)
    n_new = 0
    if todo:
        ex = make_executor(executor)
        owned = ex is not executor
        tech_fields = _tech_fields(tech)
        futures: dict[Any, tuple[str, CrossbarConfig]] = {}
        bar = tqdm(total=len(configs), initial=n_skipped, desc="sweep", unit="design", disable=not progress)
        n_failed = 0
        try:
            for key, cfg in todo:
                futures[ex.submit(_evaluate_task, layers, cfg.to_json(), tech_fields, accuracy)] = (key, cfg)
            for fut in ex.as_completed(list(futures)):
                key, cfg = futures[fut]
                try:
                    row = fut.result()
                except Exception as err:  # noqa: BLE001 - the task never ran or its worker died
                    row = _failed_row(key, cfg, err, float("nan"))
                store.append(row)
                n_new += 1
                n_failed += row["status"] == "failed"
                bar.update()
                if n_failed:
                    bar.set_postfix(failed=n_failed)
        finally:
            bar.close()
            for fut in futures:
                if not fut.done():
                    fut.cancel()
            if owned:
                ex.shutdown()
    return _result(store, keys, n_new, n_skipped)

