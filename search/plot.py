"""Publication figures of a search: Pareto fronts, hypervolume vs cost, parallel coordinates.

Every function takes plain arrays, draws with matplotlib's Agg backend and writes PNG (150 dpi)
and PDF next to the given stem; it returns the written paths.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.benchmarks import non_dominated


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, stem: Path) -> list[Path]:
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    _plt().close(fig)
    return paths


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``F (n, m)`` (minimization)."""
    F = np.asarray(F, dtype=np.float64)
    return non_dominated(F) if len(F) else np.zeros(0, dtype=bool)


def pairwise_fronts(F: np.ndarray, names: Sequence[str], stem: Path, *, title: str = "",
                    transforms: dict[int, tuple[str, float]] | None = None) -> list[Path]:
    """Scatter every pair of objectives; Pareto-optimal designs (over all objectives) solid,
    dominated ones faded.

    Args:
        F: Objectives ``(n, m)`` (minimized). names: Axis labels, ``m``.
        stem: Output path without suffix. title: Figure title.
        transforms: Optional ``{column: (label, factor)}`` to display ``factor * F[:, column]``
            under another label (e.g. ``{0: ("accuracy [%]", -100)}``).
    """
    plt = _plt()
    F = np.asarray(F, dtype=np.float64)
    shown = F.copy()
    labels = list(names)
    for j, (label, factor) in (transforms or {}).items():
        shown[:, j] = factor * F[:, j]
        labels[j] = label
    front = pareto_mask(F)
    pairs = list(itertools.combinations(range(F.shape[1]), 2))
    ncol = min(3, len(pairs))
    nrow = -(-len(pairs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.4 * nrow), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs, strict=False):
        ax.scatter(shown[~front, i], shown[~front, j], s=12, color="0.6", alpha=0.35, label="dominated")
        ax.scatter(shown[front, i], shown[front, j], s=22, color="C3", label="Pareto-optimal")
        ax.set_xlabel(labels[i])
        ax.set_ylabel(labels[j])
        if _wide(shown[:, i]):
            ax.set_xscale("log")
        if _wide(shown[:, j]):
            ax.set_yscale("log")
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    return _finish(fig, axes, title, stem)


def _wide(values: np.ndarray) -> bool:
    """Positive values spanning more than two decades: drawn on a log axis."""
    return bool(np.all(values > 0) and values.max() / values.min() > 100)


def _finish(fig, axes, title: str, stem: Path) -> list[Path]:
    """Legend in the first panel, the title, tight layout, then :func:`_save`."""
    axes.flat[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, stem)


def hypervolume_vs_cost(traces: dict[str, list[tuple[np.ndarray, np.ndarray]]], stem: Path, *,
                        xlabel: str = "cumulative cost", title: str = "") -> list[Path]:
    """Median hypervolume (line) and inter-quartile range (band) over seeds, per algorithm.

    Args:
        traces: ``{algorithm: [(cumulative_cost (n,), hypervolume (n,)), ...one per seed]}``.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    top = max((c[-1] for runs in traces.values() for c, _ in runs if len(c)), default=1.0)
    grid = np.linspace(0.0, top, 300)
    for name, runs in traces.items():
        curves = np.array([np.interp(grid, np.concatenate([[0.0], c]), np.concatenate([[0.0], h]),
                                     right=np.nan) for c, h in runs if len(c)])
        if not len(curves):
            continue
        with warnings.catch_warnings():  # NaN beyond a run's last evaluation
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(curves, axis=0)
            lo, hi = np.nanpercentile(curves, 25, axis=0), np.nanpercentile(curves, 75, axis=0)
        line, = ax.plot(grid, med, label=f"{name} ({len(curves)} seeds)")
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("hypervolume (normalized)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, stem)


def parallel_coordinates(values: dict[str, np.ndarray], stem: Path, *, color_by: str | None = None,
                         title: str = "") -> list[Path]:
    """One polyline per design across the named columns (each scaled to [0, 1] on its own axis,
    tick labels show the real range); coloured by ``color_by`` (a numeric column). A column of
    strings (e.g. ``differential_adc``) is categorical: its levels, sorted, are evenly spaced on
    the axis and listed in the tick label."""
    plt = _plt()
    names = list(values)
    columns, labels = [], []
    for n in names:
        col = np.asarray(values[n])
        if col.dtype.kind in "biuf":
            col = col.astype(np.float64)
            labels.append(f"{n}\n[{col.min():.3g}, {col.max():.3g}]")
        else:
            levels = sorted({str(v) for v in col})
            col = np.array([levels.index(str(v)) for v in col], dtype=np.float64)
            labels.append(f"{n}\n{{{', '.join(levels)}}}")
        columns.append(col)
    data = np.array(columns).T  # (n, k)
    lo, hi = data.min(axis=0), data.max(axis=0)
    scaled = (data - lo) / np.where(hi > lo, hi - lo, 1.0)
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 3.8))
    c = np.asarray(values[color_by], dtype=np.float64) if color_by else np.zeros(len(data))
    cmap = plt.get_cmap("viridis")
    cn = (c - c.min()) / (c.max() - c.min()) if c.max() > c.min() else np.zeros_like(c)
    for row, col in zip(scaled, cn, strict=True):
        ax.plot(range(len(names)), row, color=cmap(col), alpha=0.8, lw=1.2)
    ax.set_xticks(range(len(names)), labels, fontsize=7)
    ax.set_yticks([])
    if title:
        ax.set_title(title + (f" (colour: {color_by})" if color_by else ""), fontsize=10)
    fig.tight_layout()
    return _save(fig, stem)


def measured_vs_recorded(cheap: np.ndarray, recorded: np.ndarray, mean: np.ndarray, std: np.ndarray,
                         on_front: np.ndarray, names: Sequence[str], stem: Path, *, label: str = "accuracy [%]",
                         factor: float = -100.0, title: str = "") -> list[Path]:
    """The expensive objective of re-measured designs against each exact objective: recorded
    value (open grey), measured mean with +-1 std bars (blue; red on the measured front), a grey
    segment from one to the other.

    Args:
        cheap: Exact objectives ``(n, m)``. recorded, mean, std: The expensive objective ``(n,)``
            (NaN mean: failed, drawn as recorded only). on_front: ``(n,)`` bool.
        names: The ``m`` exact objectives' names. label, factor: The expensive objective is shown
            as ``factor * value`` under ``label`` (default: ``-neg_accuracy`` in percent).
    """
    plt = _plt()
    cheap = np.asarray(cheap, dtype=np.float64)
    rec, mu, sd = (factor * np.asarray(a, dtype=np.float64) for a in (recorded, mean, std))
    sd = np.abs(sd)
    front = np.asarray(on_front, dtype=bool)
    ok = np.isfinite(mu)
    m = cheap.shape[1]
    fig, axes = plt.subplots(1, m, figsize=(4.0 * m, 3.4), squeeze=False)
    for j, ax in enumerate(axes.flat):
        c = cheap[:, j]
        for i in np.flatnonzero(ok):
            ax.plot([c[i], c[i]], [rec[i], mu[i]], color="0.7", lw=0.8, zorder=1)
        ax.scatter(c, rec, s=20, facecolors="none", edgecolors="0.5", label="recorded", zorder=2)
        for mask, color, name in ((ok & ~front, "C0", "measured"), (ok & front, "C3", "measured, Pareto-optimal")):
            if mask.any():
                ax.errorbar(c[mask], mu[mask], yerr=np.nan_to_num(sd[mask]), fmt="o", ms=4, color=color,
                            capsize=2, lw=1, label=name, zorder=3)
        ax.set_xlabel(names[j])
        ax.set_ylabel(label)
        if _wide(c):
            ax.set_xscale("log")
    return _finish(fig, axes, title, stem)


def proposal_trace(runs: dict[str, list[tuple[float, dict]]], stem: Path, *, title: str = "") -> list[Path]:
    """Why each design was proposed, per run: its fidelity (top) and the information gain its
    acquisition noted (bottom, nats; a log axis when positive over more than two decades), against
    the proposal number, one marker per candidate origin (:attr:`search.loop.Evaluation.proposal`).

    Args:
        runs: ``{run label: [(z, proposal notes), ...in proposal order]}``.
    """
    plt = _plt()
    markers = {"init": "x", "random": "o", "front": "^", "refined": "s"}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.0), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    gains = []
    for k, (label, rows) in enumerate(runs.items()):
        color = colors[k % len(colors)]
        for origin, marker in markers.items():
            idx = [i for i, (_, notes) in enumerate(rows) if notes.get("origin") == origin]
            if not idx:
                continue
            name = f"{label}: {origin}" if len(runs) > 1 else origin
            top.scatter(idx, [rows[i][0] for i in idx], marker=marker, color=color, s=14, label=name)
            g = [(i, rows[i][1]["gain"]) for i in idx if "gain" in rows[i][1]]
            if g:
                bottom.scatter(*zip(*g, strict=True), marker=marker, color=color, s=14)
                gains += [v for _, v in g]
    top.set_ylabel("fidelity z")
    bottom.set_ylabel("information gain [nats]")
    if gains and _wide(np.array(gains)):
        bottom.set_yscale("log")
    bottom.set_xlabel("proposal")
    return _finish(fig, np.array([top, bottom]), title, stem)
