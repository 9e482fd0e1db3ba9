"""Per-component energy and area of ResNet-20 mapped at ISAAC settings onto the ISAAC 32 nm technology.

ISAAC (Shafiee et al., ISCA 2016): 128 x 128 arrays of 2-bit cells, 16-bit weights stored with an
offset (biased) encoding in 8 cells, 16-bit inputs streamed bit-serially through 1-bit DACs
(16 cycles of 100 ns), 8-bit SAR ADCs at 1.28 GS/s shared by 128 columns, and the component
table of its Table I (``data/tech/isaac_ce_32nm.json``). ResNet-20 (CIFAR-10, 32 x 32 inputs) is
traced with :func:`mapping.nn.specs.specs_from_torch` (22 crossbar layers: 19 3x3 convolutions,
2 1x1 shortcuts, the classifier); every layer gets its own arrays (:func:`mapping.plan.place`),
costed by :func:`crossbar.cost.estimate_cost`. Also reports how the ADC's share moves with its
resolution (4-8 bits, everything else fixed; :func:`crossbar.cost.estimate_costs`).

Run: ``python -m experiments.isaac_breakdown [--out DIR] [--smoke]``. Writes ``results.h5``
(+ provenance attributes) and ``breakdown.png/.pdf`` under ``--out``. The computation takes about
a second, so ``--smoke`` runs the same thing (it only skips the ADC-resolution table).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from crossbar import CrossbarConfig
from crossbar.cost import COMPONENTS, DesignSet, estimate_costs
from crossbar.tech import load_technology
from experiments._common import provenance, save_figure, write_h5
from mapping.nn.models import resnet20
from mapping.nn.specs import specs_from_torch
from mapping.plan import place

ISAAC = CrossbarConfig(rows=128, cols=128, cell_bits=2, weight_bits=16, input_bits=16, dac_bits=1, adc_bits=8,
                       encoding="offset", frequency=1e7)
"""ISAAC's design point (Shafiee et al. 2016, Sec. IV and Table I)."""


def run(*, tech_name: str, adc_bits: list[int]) -> dict:
    """Place and cost ResNet-20; per-layer and per-component arrays plus the ADC-resolution scan."""
    import torch

    with torch.random.fork_rng(devices=[]):  # the weights do not matter for the cost
        layers = specs_from_torch(resnet20(), (3, 32, 32))
    tech = load_technology(tech_name)
    plan = place(layers, ISAAC)
    report = plan.cost(tech)
    names = list(report.layers)
    out = {
        "layer_names": names,
        "layer_energy": np.array([[report.layers[n].breakdown[c].energy for c in COMPONENTS] for n in names]),
        "layer_area": np.array([[report.layers[n].breakdown[c].area for c in COMPONENTS] for n in names]),
        "layer_latency": np.array([report.layers[n].latency for n in names]),
        "layer_arrays": np.array([report.layers[n].n_arrays for n in names]),
        "layer_macs": np.array([la.macs for la in plan.layers]),
        "energy": np.array([report.breakdown[c].energy for c in COMPONENTS]),
        "area": np.array([report.breakdown[c].area for c in COMPONENTS]),
        "total_energy": report.energy, "total_area": report.area, "latency": report.latency,
        "latency_sequential": report.latency_sequential, "throughput": report.throughput,
        "static_power": report.static_power,
        "n_arrays": report.n_arrays, "n_macs": plan.n_macs, "utilization": plan.utilization,
        "missing": list(report.missing),
    }
    if adc_bits:
        designs = DesignSet.from_configs([ISAAC.replace(adc_bits=b) for b in adc_bits])
        scan = estimate_costs(plan, designs, tech)
        out["adc_bits"] = np.array(adc_bits)
        out["adc_energy_share"] = scan["energy_adc"] / scan["energy"]
        out["adc_area_share"] = scan["area_adc"] / scan["area"]
        out["adc_scan_energy"] = scan["energy"]
        out["adc_scan_area"] = scan["area"]
    return out


def plot(out: dict, stem: Path) -> list[Path]:
    """Stacked per-layer energy and area bars (left) and the network totals per component (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12.0, 7.0), gridspec_kw={"width_ratios": [3.2, 1.0]})
    colors = plt.get_cmap("tab10").colors
    names = out["layer_names"]
    x = np.arange(len(names))
    for row, (key, scale, unit) in enumerate((("energy", 1e6, "energy per inference [uJ]"),
                                               ("area", 1e6, "area [mm$^2$]"))):
        ax, ax_total = axes[row]
        per_layer = out[f"layer_{key}"] * scale
        bottom = np.zeros(len(names))
        for k, comp in enumerate(COMPONENTS):
            if np.any(per_layer[:, k] > 0):
                ax.bar(x, per_layer[:, k], bottom=bottom, color=colors[k], label=comp, width=0.8)
                bottom += per_layer[:, k]
        ax.set_ylabel(unit)
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.grid(axis="y", alpha=0.3)
        totals = out[key] * scale
        share = 100 * totals / totals.sum()
        used = [k for k in range(len(COMPONENTS)) if totals[k] > 0]
        ax_total.barh(np.arange(len(used)), share[used], color=[colors[k] for k in used])
        ax_total.set_yticks(np.arange(len(used)), [COMPONENTS[k] for k in used], fontsize=8)
        ax_total.invert_yaxis()
        ax_total.set_xlabel(f"share of total {key} [%]")
        for j, k in enumerate(used):
            ax_total.text(share[k] + 1, j, f"{share[k]:.1f}%", va="center", fontsize=7)
        ax_total.set_xlim(0, max(share) * 1.3)
        ax_total.set_title(f"total {totals.sum():.3g} {'uJ' if key == 'energy' else 'mm$^2$'}", fontsize=9)
    axes[0, 0].legend(fontsize=7, ncol=3)
    axes[0, 0].set_title("ResNet-20 on ISAAC 32 nm (128x128, 2-bit cells, 16-bit weights/inputs, 8-bit ADC)",
                         fontsize=10)
    axes[0, 0].set_xticks(x, [])
    axes[1, 0].set_xticks(x, names, rotation=70, ha="right", fontsize=7)
    return save_figure(fig, stem)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("results/isaac_breakdown"))
    p.add_argument("--tech", default="isaac_ce_32nm", help="technology name or JSON path")
    p.add_argument("--adc-bits", type=int, nargs="*", default=[4, 5, 6, 7, 8],
                   help="ADC resolutions of the share scan")
    p.add_argument("--smoke", action="store_true", help="for the tests: skip the ADC-resolution scan")
    a = p.parse_args(argv)
    if a.smoke:
        a.adc_bits = []
    t0 = time.perf_counter()
    out = run(tech_name=a.tech, adc_bits=a.adc_bits)
    cfg = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
           "crossbar": ISAAC.to_dict(), "network": "resnet20 (3, 32, 32)"}
    groups = {
        "totals": {"energy": out["energy"], "area": out["area"], "total_energy": out["total_energy"],
                   "total_area": out["total_area"], "latency": out["latency"],
                   "latency_sequential": out["latency_sequential"], "throughput": out["throughput"],
                   "static_power": out["static_power"],
                   "n_arrays": out["n_arrays"], "n_macs": out["n_macs"], "utilization": out["utilization"],
                   "components": json.dumps(list(COMPONENTS)), "missing": json.dumps(out["missing"])},
        "layers": {"energy": out["layer_energy"], "area": out["layer_area"], "latency": out["layer_latency"],
                   "n_arrays": out["layer_arrays"], "n_macs": out["layer_macs"],
                   "names": json.dumps(out["layer_names"]), "components": json.dumps(list(COMPONENTS))},
    }
    if "adc_bits" in out:
        groups["adc_scan"] = {k: out[k] for k in ("adc_bits", "adc_energy_share", "adc_area_share",
                                                   "adc_scan_energy", "adc_scan_area")}
    write_h5(a.out / "results.h5", groups, provenance(cfg, None))
    plot(out, a.out / "breakdown")
    e, ar = out["energy"], out["area"]
    print(f"ResNet-20 on {a.tech} at ISAAC settings: {len(out['layer_names'])} layers, {out['n_arrays']} "
          f"arrays (utilization {100 * out['utilization']:.1f}%), {out['n_macs'] / 1e6:.2f} M MACs per "
          "inference")
    print(f"energy {out['total_energy'] * 1e6:.2f} uJ/inference, area {out['total_area'] * 1e6:.2f} mm^2, "
          f"latency {out['latency'] * 1e3:.3f} ms pipelined / {out['latency_sequential'] * 1e3:.3f} ms "
          f"layer-sequential, throughput {out['throughput']:.0f} inferences/s")
    static = out["static_power"] / out["throughput"]
    dynamic = out["total_energy"] - static
    print(f"static power {out['static_power']:.3f} W (pro-rata share of the table's static rows) over the "
          f"{1e3 / out['throughput']:.3f} ms pipeline interval = {static * 1e6:.1f} uJ; ADC share of the "
          f"dynamic energy {100 * e[COMPONENTS.index('adc')] / dynamic:.1f}%")
    print(f"{'component':<13} {'energy uJ':>10} {'energy %':>9} {'area mm^2':>10} {'area %':>7}")
    for k, comp in enumerate(COMPONENTS):
        print(f"{comp:<13} {e[k] * 1e6:>10.3f} {100 * e[k] / e.sum():>9.1f} {ar[k] * 1e6:>10.3f} "
              f"{100 * ar[k] / ar.sum():>7.1f}")
    if "adc_bits" in out:
        scan = ", ".join(f"{b} b: {100 * s:.1f}% / {100 * t:.1f}%" for b, s, t in
                         zip(out["adc_bits"], out["adc_energy_share"], out["adc_area_share"], strict=True))
        print(f"ADC share of energy / area by ADC resolution: {scan}")
    print(f"wrote {a.out / 'results.h5'} and {a.out / 'breakdown.png'} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
