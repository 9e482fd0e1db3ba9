"""Shared helpers of the experiment scripts: provenance, HDF5 output, figure saving."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np


def provenance(config: dict[str, Any], seed: int | None) -> dict[str, str]:
    """Git SHA, command line, seed, the full config as JSON, and package versions."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False,
                             cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except OSError:
        sha = "unknown"
    versions = {}
    for pkg in ("numpy", "numba", "torch", "scipy", "h5py", "pymoo", "xbarsim"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "absent"
    return {"git_sha": sha, "argv": json.dumps(sys.argv), "seed": json.dumps(seed),
            "config": json.dumps(config, sort_keys=True), "python": platform.python_version(),
            "versions": json.dumps(versions, sort_keys=True)}


def write_h5(path: Path, groups: dict[str, dict[str, Any]], attrs: dict[str, str]) -> None:
    """Write ``{group: {dataset: array-like}}`` and root attributes to ``path`` (overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for gname, data in groups.items():
            g = f.require_group(gname)
            for name, value in data.items():
                if isinstance(value, str):
                    g.attrs[name] = value
                else:
                    g.create_dataset(name, data=np.asarray(value))
    tmp.replace(path)


def save_figure(fig, stem: Path) -> list[Path]:
    """Lay out ``fig``, save it as ``stem.png`` (150 dpi) and ``stem.pdf``, close it; returns the paths."""
    import matplotlib.pyplot as plt

    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.tight_layout()
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def median_time(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn()`` after one warm-up call [s]."""
    import time

    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def interleaved_medians(fns: dict, repeats: int, rounds: int = 5) -> dict:
    """Median wall time [s] of each ``fns[name]()``: ``rounds`` rounds, each timing ``repeats``
    calls of every function in turn (after one warm-up call each), so slow drifts of a shared
    machine hit all of them alike and their ratios stay meaningful."""
    import time

    times: dict = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}
