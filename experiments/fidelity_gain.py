"""What CF-MESMO's two information gains say each fidelity level is worth, on one fitted model.

Evaluates ``--evaluations`` random designs at random fidelity levels (the first at ``z = 1``,
as :class:`search.algorithms.MESSearch`'s warm-up does), fits the GPs, samples ``--samples`` Pareto
fronts, and for ``--candidates`` random designs computes at every fidelity level the reference gain
(iMOCA-T: the lower-fidelity output truncated at the full-fidelity bound) and the correlated gain
(iMOCA-E, ``CFMESMO(correlated=True)``), their mean, the mean posterior correlation ``rho`` with
``f(x, 1)``, and each acquisition's largest ``gain / cost`` over the candidates at that level
(a proposal, without fidelity pruning, takes the level where it is largest; marked ``*``).
Truncation: ``tradeoff`` with one expensive objective, else ``per_objective``.

Run: ``python -m experiments.fidelity_gain [--problem zdt1_mf] [--evaluations 40] [--seed 0]``
(problems as in :mod:`experiments.cfmesmo_vs_nsga2`, ``reram_digits`` included).
"""

from __future__ import annotations

import argparse

import numpy as np


def level_table(problem, *, n_evaluations: int, n_samples: int, n_candidates: int, seed: int) -> dict:
    """Per fidelity level: mean reference and correlated gain (nats), mean ``rho``, and each
    acquisition's largest ``gain / cost`` over the candidates (a proposal takes the level where it
    is largest)."""
    from search.acquisition import CFMESMO, sample_pareto_fronts
    from search.surrogate import fit_surrogate

    rng = np.random.default_rng(seed)
    levels = np.asarray(problem.fidelities, dtype=np.float64)
    x = rng.random((n_evaluations, problem.n_var))
    z = np.concatenate([[1.0], rng.choice(levels, n_evaluations - 1)])
    evs = [problem.evaluate(xi, float(zi), seed=seed * 100003 + i) for i, (xi, zi) in enumerate(zip(x, z, strict=True))]
    f = np.array([e[0] for e in evs])
    cheap = np.asarray(problem.exact(x), dtype=np.float64).reshape(n_evaluations, -1)
    xz = np.hstack([x, z[:, None]])
    surs = [fit_surrogate(xz, f[:, j]) for j in range(problem.n_expensive)]
    fronts = sample_pareto_fronts(surs, problem.exact, n_samples=n_samples, seed=seed, pop_size=20, n_gen=10)
    full = z == 1.0
    kw = dict(exact_fn=problem.exact, cost_fn=problem.cost, observed=-f[full], observed_cheap=cheap[full],
              truncation="tradeoff" if problem.n_expensive == 1 else "per_objective", prune=False)
    cand = rng.random((n_candidates, problem.n_var))
    out = {"levels": levels}
    for name, corr in (("reference", False), ("correlated", True)):
        acq = CFMESMO(surs, fronts, correlated=corr, **kw)
        gains = np.stack([acq.information_gain(cand, np.full(n_candidates, lv)) for lv in levels], axis=1)
        per_cost = np.stack([acq(cand, np.full(n_candidates, lv)) for lv in levels], axis=1)
        out[name] = gains.mean(axis=0)
        out[f"{name}_top"] = per_cost.max(axis=0)
        if corr:
            out["rho"] = np.stack([acq.target_moments(cand, np.full(n_candidates, lv))[2][:, 0] for lv in levels],
                                  axis=1).mean(axis=0)
    out["cost"] = np.array([float(np.mean(problem.cost(cand[:1], np.array([lv])))) for lv in levels])
    return out


def main(argv: list[str] | None = None) -> int:
    from experiments.cfmesmo_vs_nsga2 import make_problem

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problem", default="zdt1_mf")
    p.add_argument("--evaluations", type=int, default=40)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--candidates", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args(argv)
    if a.evaluations < 2:
        p.error(f"--evaluations must be >= 2; got {a.evaluations}")
    problem = make_problem(a.problem, smoke=a.smoke)[0]
    t = level_table(problem, n_evaluations=a.evaluations, n_samples=a.samples, n_candidates=a.candidates,
                    seed=a.seed)
    print(f"{a.problem}, {a.evaluations} evaluations, seed {a.seed}: mean gain (nats) over {a.candidates} random "
          "designs; best: the largest gain / cost among them (*: the level a proposal takes, no pruning)")
    print(f"{'z':>6} {'cost':>7} {'reference':>10} {'best':>9} {'correlated':>11} {'best':>9} {'rho':>6}")
    mark = {k: int(np.argmax(t[f"{k}_top"])) for k in ("reference", "correlated")}
    for i, lv in enumerate(t["levels"]):
        best = {k: f"{t[f'{k}_top'][i]:8.3f}" + ("*" if mark[k] == i else " ") for k in mark}
        print(f"{lv:6.3g} {t['cost'][i]:7.3f} {t['reference'][i]:10.4f} {best['reference']} "
              f"{t['correlated'][i]:11.4f} {best['correlated']} {t['rho'][i]:6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
