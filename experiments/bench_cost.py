"""Benchmark: vectorized cost model, ResNet-20 (CIFAR, 32 x 32) under many random crossbar designs.

Builds ResNet-20 (``mapping.nn.models.resnet20``), traces its 22 crossbar layers
(``mapping.nn.specs.specs_from_torch``), draws ``--n-designs`` random designs (rows and cols in
{32, ..., 512}, 1-4 bit cells, 4-16 bit weights and inputs, 1-4 bit DACs, 3-10 bit ADCs, 1 MHz to
1 GHz, either encoding) and times :func:`crossbar.cost.estimate_costs` with the ISAAC 32 nm
technology (median of ``--repeats`` runs after a warm-up). The target (issue 4) is about one second
for 10,000 designs on 2 cores.

Run: ``python -m experiments.bench_cost`` (``--json`` for machine-readable output).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from crossbar.cost import DesignSet, estimate_costs
from crossbar.tech import load_technology
from mapping.nn.models import resnet20
from mapping.nn.specs import specs_from_torch
from mapping.plan import network_workload

SIZES = np.array([32, 64, 128, 256, 512])


def random_designs(n: int, rng: np.random.Generator) -> DesignSet:
    """``n`` random designs of the benchmark's space (uniform per variable, log-uniform frequency)."""
    input_bits = rng.integers(4, 17, size=n)
    return DesignSet(
        rows=rng.choice(SIZES, size=n), cols=rng.choice(SIZES, size=n), cell_bits=rng.integers(1, 5, size=n),
        weight_bits=rng.integers(4, 17, size=n), input_bits=input_bits,
        dac_bits=np.minimum(rng.integers(1, 5, size=n), input_bits), adc_bits=rng.integers(3, 11, size=n),
        frequency=10.0 ** rng.uniform(6.0, 9.0, size=n),
        encoding=rng.choice(np.array(["differential", "offset"]), size=n))


def run(*, n_designs: int, repeats: int, seed: int) -> dict[str, float]:
    """Time the evaluation; returns seconds (median), designs per second and a checksum."""
    workload = network_workload(specs_from_torch(resnet20(), (3, 32, 32)))
    tech = load_technology("isaac_ce_32nm")
    designs = random_designs(n_designs, np.random.default_rng(seed))
    out = estimate_costs(workload, designs, tech)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = estimate_costs(workload, designs, tech)
        times.append(time.perf_counter() - t0)
    t = float(np.median(times))
    return {"n_designs": n_designs, "n_layers": len(workload), "seconds": t,
            "designs_per_second": n_designs / t, "median_energy_J": float(np.median(out["energy"])),
            "median_area_mm2": float(np.median(out["area"]) * 1e6),
            "median_latency_s": float(np.median(out["latency"]))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-designs", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="100 designs, 1 repeat")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    n, repeats = (100, 1) if args.smoke else (args.n_designs, args.repeats)
    res = run(n_designs=n, repeats=repeats, seed=args.seed)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"estimate_costs: ResNet-20 ({res['n_layers']} layers), {res['n_designs']} designs in "
              f"{res['seconds'] * 1e3:.1f} ms ({res['designs_per_second']:.0f} designs/s); median energy "
              f"{res['median_energy_J'] * 1e6:.2f} uJ, area {res['median_area_mm2']:.3f} mm^2, latency "
              f"{res['median_latency_s'] * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
