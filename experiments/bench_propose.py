"""Benchmark: time to propose the next design with CF-MESMO (GP fit + fronts + acquisition).

Problem: the accuracy/cost DTLZ2 variant with 8 design variables and 4 objectives (1 expensive,
fidelity-dependent; 3 exact), 30 observations at mixed fidelities, 10 posterior samples, inner
NSGA-II of population 60 x 40 generations per sample, 1000 random candidates x 10 fidelity levels.
Prints the median over ``--repeats`` proposals of the whole ``MESSearch.ask`` (fit, fronts, acquisition).
``--observations`` takes several counts (one line each); ``--algorithm qlognehvi`` times the
baseline's whole ``QLogNEHVISearch.ask`` instead (its defaults; observations at the target fidelity,
the only ones it uses).

Run: ``python -m experiments.bench_propose`` (``--observations 20 40 80 --algorithm qlognehvi``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from search.algorithms import MESSearch, QLogNEHVISearch
from search.benchmarks import AccuracyCostDTLZ2
from search.loop import Evaluation
from search.tasks import BenchmarkSearch


def observations(prob: BenchmarkSearch, n: int, seed: int, *, mixed: bool = True) -> list[Evaluation]:
    """``n`` random designs, every third at the target fidelity and the others at random levels
    (``mixed``), else all at the target."""
    r = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = r.random(prob.n_var)
        z = 1.0 if i % 3 == 0 or not mixed else float(r.choice(prob.fidelities))
        f, cost = prob.evaluate(x, z, i)
        out.append(Evaluation(index=i, x=x, z=z, f=f, cheap=prob.exact(x[None])[0], cost=cost, seed=i))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--observations", type=int, nargs="+", default=[30])
    p.add_argument("--algorithm", default="cfmesmo", choices=["cfmesmo", "qlognehvi"])
    p.add_argument("--truncation", default="per_objective", choices=["per_objective", "tradeoff"])
    p.add_argument("--refine", action="store_true", help="seeded candidates + local search (MESSearch.refine)")
    p.add_argument("--front-candidates", action="store_true",
                   help="the sampled Pareto sets' designs join the candidates (MESSearch.front_candidates)")
    p.add_argument("--correlated", action="store_true", help="the correlated gain (MESSearch.correlated)")
    p.add_argument("--smoke", action="store_true", help="small candidate sets and inner fronts (tests)")
    a = p.parse_args(argv)
    bad = [n for n in a.observations if n < 6]
    if bad:
        p.error(f"--observations must each be >= 6 (the model-based proposals' warm-up); got {bad}")
    prob = BenchmarkSearch(AccuracyCostDTLZ2(n_obj=4, n_distance=5))
    assert prob.n_var == 8 and prob.n_expensive == 1
    small = dict(n_candidates=16) if a.smoke else {}
    if a.algorithm == "qlognehvi":
        alg = QLogNEHVISearch(refine=not a.smoke, **small)
        title = "qLogNEHVI proposal (BoTorch's 128 MC samples)"
    else:
        alg = MESSearch(n_samples=a.samples, truncation=a.truncation, refine=a.refine,
                        front_candidates=a.front_candidates, correlated=a.correlated,
                        **(small | dict(nsga_pop=8, nsga_gen=2) if a.smoke else {}))
        kind = a.truncation + (", refined" if a.refine else ", front candidates" if a.front_candidates else "")
        kind += ", correlated" if a.correlated else ""
        title = f"CF-MESMO proposal ({kind}, {a.samples} samples)"
    for n in a.observations:
        done = observations(prob, n, 0, mixed=a.algorithm == "cfmesmo")
        times = []
        for k in range(a.repeats):
            t0 = time.perf_counter()
            alg.ask(prob, done, [], np.random.default_rng(k))
            times.append(time.perf_counter() - t0)
        print(f"{title}, 8 variables, 4 objectives, {n} observations: "
              f"median {np.median(times):.2f} s over {a.repeats} (min {min(times):.2f}, max {max(times):.2f})",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
