"""A sweep's results for people: a fixed-width text table and per-component breakdown bar plots.

``xbarsim report RESULTS.h5`` (:mod:`search.cli`) prints :func:`report_table` and saves
:func:`plot_breakdown`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from crossbar.cost import COMPONENTS
from search.store import StoreError
from search.sweep import SweepResult

__all__ = ["plot_breakdown", "report_table"]


def _fmt(value: float, scale: float, digits: int) -> str:
    return "-" if not math.isfinite(value) else f"{value * scale:.{digits}f}"


def _adc_texts(c: Mapping[str, np.ndarray]) -> list[str]:
    """Each design's ADC bits as text, ``±`` in front for one signed ADC per differential pair
    (``differential_adc="subtract"``, read from the stored config: earlier stores have no column)."""
    out = []
    for bits, config in zip(c["adc_bits"], c["config"], strict=True):
        signed = json.loads(str(config)).get("differential_adc") == "subtract"
        out.append(("±" if signed else "") + str(bits).replace(" ", ""))
    return out


def _variant_texts(c: Mapping[str, np.ndarray]) -> list[str]:
    """Each design's departures from the default column layout, read from the stored config:
    ``offset`` (``encoding="offset"``) and ``ref`` (``gmin_removal="reference"``), else ``""``."""
    out = []
    for config in c["config"]:
        d = json.loads(str(config))
        parts = (["offset"] if d.get("encoding") == "offset" else []) + (
            ["ref"] if d.get("gmin_removal") == "reference" else [])
        out.append(",".join(parts))
    return out


def report_table(res: SweepResult) -> str:
    """A fixed-width text table of a sweep: design fields, area, energy, latency, accuracy, status
    (``adc``: bits per conversion, ``±`` for a signed ADC per differential pair; a ``variant``
    column, only when some design has one: ``offset`` encoding, ``ref`` for a reference column)."""
    c = res.columns
    adc_texts = _adc_texts(c)
    variants = _variant_texts(c)
    width = max(len(v) for v in variants) if any(variants) else 0
    width = max(width, 7) if width else 0
    var_head = f" {'variant':>{width}}" if width else ""
    head = (f"{'key':<16} {'rows':>5} {'cols':>5} {'cell':>4} {'wbits':>5} {'ibits':>5} {'dac':>3} "
            f"{'adc':>10}{var_head} {'MHz':>7} {'area mm^2':>10} {'energy uJ':>10} {'latency us':>11} "
            f"{'inf/s':>10} {'accuracy %':>12} status")
    lines = [head, "-" * len(head)]
    for i in range(len(res)):
        acc = c["accuracy_mean"][i]
        acc_s = "-" if not math.isfinite(acc) else f"{100 * acc:.2f}+-{100 * c['accuracy_std'][i]:.2f}"
        status = str(c["status"][i]) if c["status"][i] == "ok" else f"failed: {c['error'][i][:60]}"
        adc = adc_texts[i]
        var = f" {variants[i]:>{width}}" if width else ""
        lines.append(
            f"{c['key'][i]:<16} {c['rows'][i]:>5} {c['cols'][i]:>5} {c['cell_bits'][i]:>4} "
            f"{c['weight_bits'][i]:>5} {c['input_bits'][i]:>5} {c['dac_bits'][i]:>3} {adc:>10}{var}"
            f" {_fmt(c['frequency'][i], 1e-6, 1):>7} {_fmt(c['area'][i], 1e6, 4):>10} "
            f"{_fmt(c['energy'][i], 1e6, 4):>10} {_fmt(c['latency'][i], 1e6, 2):>11} "
            f"{_fmt(c['throughput'][i], 1.0, 0):>10} {acc_s:>12} {status}")
    return "\n".join(lines)


_LABEL_FIELDS = (("rows", "R"), ("cols", "C"), ("cell_bits", "c"), ("weight_bits", "W"), ("input_bits", "A"),
                 ("dac_bits", "d"), ("adc_bits", "adc"), ("frequency", "f"), ("encoding", ""))
"""Design fields of the report's order and of the plot labels (in labels ``encoding`` shows as
the ``variant`` text, which also names a reference column)."""


def _labels(c: Mapping[str, np.ndarray], idx: np.ndarray) -> list[str]:
    c = {**c, "adc_bits": np.array(_adc_texts(c)), "variant": np.array(_variant_texts(c))}
    fields = [("variant" if f == "encoding" else f, short) for f, short in _LABEL_FIELDS]
    varying = [(f, short) for f, short in fields if len(set(c[f][idx].tolist())) > 1]
    out = []
    for i in idx:
        parts = []
        for f, short in varying:
            v = c[f][i]
            text = f"{v / 1e6:g}M" if f == "frequency" else str(v).replace(" ", "")
            parts.append(f"{short}{text}" if short else text)
        out.append(" ".join(parts) or str(c["key"][i])[:8])
    return out


def plot_breakdown(res: SweepResult, stem: Path, *, sort: str = "energy",
                   max_designs: int = 30) -> list[Path]:
    """Stacked per-component energy and area bars of the ok designs; saves ``stem.png`` and ``stem.pdf``.

    With more than ``max_designs`` ok designs, evenly spaced ones (in ``sort`` order) are shown.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = res.columns
    ok = np.flatnonzero(c["status"] == "ok")
    if ok.size == 0:
        raise StoreError(f"{res.path}: no successful designs to plot.")
    idx = ok[np.argsort(c[sort][ok], kind="stable")]
    if idx.size > max_designs:
        idx = idx[np.unique(np.linspace(0, idx.size - 1, max_designs).round().astype(int))]
    labels = _labels(c, idx)
    x = np.arange(idx.size)
    fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.38 * idx.size + 2.5), 7.0), sharex=True)
    colors = plt.get_cmap("tab10").colors
    for ax, (what, scale, unit) in zip(axes, (("energy", 1e6, "energy per inference [uJ]"),
                                              ("area", 1e6, "area [mm$^2$]")), strict=True):
        bottom = np.zeros(idx.size)
        for k, comp in enumerate(COMPONENTS):
            vals = c[f"{what}_{comp}"][idx] * scale
            if np.any(vals > 0):
                ax.bar(x, vals, bottom=bottom, color=colors[k % len(colors)], label=comp, width=0.8)
                bottom += vals
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=3, loc="upper left")
    axes[0].set_title(f"Per-component breakdown ({idx.size} of {ok.size} designs, sorted by {sort})",
                      fontsize=10)
    axes[1].set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    fig.tight_layout()
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths
