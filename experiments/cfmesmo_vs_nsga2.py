"""CF-MESMO vs NSGA-II, random, MESMO and qLogNEHVI (the CF-MESMO paper's comparison, ICCAD 2021).

Protocol (per problem and seed):

1. NSGA-II (pymoo, full fidelity, population ``--pop``) runs until its cumulative cost reaches
   ``--nsga-budget`` full-fidelity evaluations; its final hypervolume ``H*`` is the target.
2. Every other algorithm runs with ``--fraction`` of that budget. Reported: the cost it needs to
   reach ``H*`` as a fraction of NSGA-II's cost (the paper reports 9.09 % for CF-MESMO; ``inf`` =
   not reached within its budget; medians over seeds), and the hypervolume at equal cost (the
   budget of step 2).

Hypervolume: objectives normalized by the problem's ideal and nadir points, reference point 1.1
per objective (pymoo's HV); only full-fidelity evaluations enter the front. Cost units: for the
synthetic problems, iMOCA's normalized cost (a full-fidelity evaluation of all expensive objectives
costs ``K``); for the ReRAM problem, measured seconds (``--nsga-budget`` evaluations are converted
with the mean full-fidelity evaluation time of the NSGA-II run), or with ``--evaluation-cost
passes`` an evaluation's passes over data, ``1 + epochs`` (``ReramTask.evaluation_cost``: NSGA-II's
cost is ``--nsga-budget x (1 + max_epochs)`` and every budget buys the same evaluations on any
machine).

Wall clock (ReRAM problem only, where cost is seconds; not with passes): the same runs are also scored with each
evaluation's proposal seconds added to its cost (``Evaluation.charged_cost(True)``):
NSGA-II's target cost becomes its evaluation + proposal seconds, and "HV at equal wall clock" is
each run's hypervolume when its evaluation + proposal seconds reach ``--fraction`` of that. Runs are
budgeted on evaluation seconds alone, so a run always lasts at least that long.

Rescored (``--rescore R``): the ReRAM accuracy is noisy (fine-tuning and device draws follow the
evaluation seed), and NSGA-II, which evaluates near-identical designs many times, keeps the luckiest
draws on its front. With ``R > 0`` every run's full-fidelity designs are also measured ``R`` times
afresh with common seeds (:func:`search.tasks.rescore`: the same seeds for every design, run and
algorithm), and the cost to reach NSGA-II's rescored final hypervolume and the rescored
hypervolume at the budget are reported beside the recorded ones. Synthetic problems are
deterministic (their rescored values are the recorded ones): rescoring applies to ReRAM only.
Distance to the Pareto set (synthetic problems whose benchmark has ``pareto_set_distance``:
ZDT1-MF and the DTLZ2 variant): per run, the median Euclidean distance of the later half of its
full-fidelity evaluations (those after the middle one, in order) from the true Pareto set, in the
unit cube: whether the proposals converge onto the set. Random designs give the baseline.
``HV / NSGA-II HV``: a run's hypervolume at the budget over NSGA-II's final one, per seed; "cost
to reach 99 %": the cost to reach 99 % of NSGA-II's final hypervolume (a fraction of its cost).

Common random numbers (``--common-seed C``, ReRAM only): every evaluation of seed ``s``'s runs
(NSGA-II's and the others') fine-tunes and draws devices with the seed ``C + s``
(``ReramTask.common_seed``), so the accuracy is a function of the design: re-evaluating a design
cannot find a luckier draw. Rescoring still measures with its own fresh seeds.

Validation (``--validation F``, ReRAM only): the fraction ``F`` of each training class is held out
(``ReramTask.validation``): pretraining and fine-tuning see the rest, every search records its
accuracy on the held-out part and chooses its front on it, and rescoring (``--rescore R``)
measures the designs on the test split, which no run chose on. Without it the searches record and
choose on test accuracy.

Run: ``python -m experiments.cfmesmo_vs_nsga2 [--seeds 5] [--problems ...] [--out DIR] [--smoke]``.
Writes ``results.h5`` (every evaluation of every run, with provenance) and ``hypervolume.png/.pdf``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from crossbar.errors import ConfigError
from experiments._common import provenance, save_figure, write_h5
from search.algorithms import MESSearch, NSGA2Search, QLogNEHVISearch, RandomSearch
from search.benchmarks import BENCHMARKS
from search.loop import run_search
from search.tasks import BenchmarkSearch, ReramSearch, cost_to_reach, hypervolume_trace, rescore

RESCORE_SEED = 10**9  # above every evaluation seed of a run (seed * 100003 + i)
NEAR = 0.99  # also reported: the cost to reach this fraction of NSGA-II's final hypervolume
_ROW_KEYS = ("fraction", "hv_at_budget", "hv_ratio", "fraction_near", "seconds", "traces", "fraction_wall",
             "hv_at_wall", "fraction_rescored", "hv_at_budget_rescored", "hv_ratio_rescored",
             "fraction_near_rescored", "f_rescored",  # per algorithm, one entry per seed (rescored: --rescore)
             "set_distance")


def algorithms(k_expensive: int, a) -> dict:
    mes = dict(n_samples=a.samples, n_candidates=a.candidates, nsga_pop=a.inner_pop, nsga_gen=a.inner_gen,
               refine=a.mes_refine, front_candidates=a.mes_front_candidates, gain_cap=a.mes_gain_cap,
               correlated=a.mes_correlated, unpruned=a.mes_unpruned, log_gain=not a.no_log_gain)
    algs = {"random": RandomSearch(), "mesmo": MESSearch(multi_fidelity=False, name="mesmo", **mes),
            "mesmo_tradeoff": MESSearch(multi_fidelity=False, truncation="tradeoff", name="mesmo_tradeoff", **mes),
            "mesmo_box": MESSearch(multi_fidelity=False, truncation="tradeoff", reference_box=True, name="mesmo_box",
                                   **mes),
            "cfmesmo": MESSearch(**mes), "cfmesmo_tradeoff": MESSearch(truncation="tradeoff", **mes),
            "cfmesmo_box": MESSearch(truncation="tradeoff", reference_box=True, name="cfmesmo_box", **mes)}
    if k_expensive == 1 and a.algorithms:  # run only when named: not part of the README table's default run
        algs |= {"mesmo_pinned": MESSearch(multi_fidelity=False, truncation="tradeoff", pinned=True,
                                           name="mesmo_pinned", **mes),
                 "cfmesmo_pinned": MESSearch(truncation="tradeoff", pinned=True, name="cfmesmo_pinned", **mes)}
    if not a.no_qnehvi:
        algs["qlognehvi"] = QLogNEHVISearch(n_candidates=a.candidates // 2, refine=not a.no_refine)
    if a.algorithms:
        algs = {k: v for k, v in algs.items() if k in a.algorithms}
    return algs


def make_problem(name: str, *, smoke: bool = False, validation: float | None = None,
                 evaluation_cost: str = "seconds"):
    """The problem ``name`` with its normalization ``(problem, ideal, nadir)`` (ReRAM: ``nadir``
    None, it comes from the NSGA-II run); ReRAM's task is pretrained here, holds out ``validation``
    (``ReramTask.validation``) and charges ``evaluation_cost`` (``ReramTask.evaluation_cost``);
    ``smoke``: ReRAM's small settings."""
    if name == "reram_digits":
        from search.evaluate import ReramTask, pretrain
        from search.space import default_reram_space
        from search.tasks import ReramSearch

        task = ReramTask(pretrain_epochs=2 if smoke else 20, max_epochs=1 if smoke else 4,
                         n_repeats=1 if smoke else 2, validation=validation, evaluation_cost=evaluation_cost)
        prob = ReramSearch(default_reram_space(), task, pretrain(task))
        prob.warm_up(1 if smoke else 4)  # else the JIT is charged to seed 0's NSGA-II cost and budgets
        return prob, np.array([-1.0, 0.0, 0.0, 0.0]), None  # nadir from the NSGA-II run
    prob = BenchmarkSearch(BENCHMARKS[name]())
    ideal, nadir = prob.normalization()
    return prob, ideal, nadir


def nsga2_reference(name: str, prob, ideal, nadir, a, seed: int):
    """The protocol's NSGA-II run (population ``a.pop``, ``a.nsga_budget`` full-fidelity
    evaluations) and the normalization ``(ideal, nadir)``: the problem's, or on ReRAM from this run
    (accuracy ideal 100 %, nadir 1.05 x the worst exact objectives)."""
    if name == "reram_digits":
        ref = run_search(prob, NSGA2Search(pop_size=a.pop), budget=np.inf, seed=seed,
                         max_evaluations=a.nsga_budget)
        full = [e for e in ref.evaluations if e.status == "ok"]
        nadir = np.max([np.concatenate([e.f, e.cheap]) for e in full], axis=0) * 1.05 + 1e-12
        ideal = np.min([np.concatenate([e.f, e.cheap]) for e in full], axis=0)
        ideal[0] = -1.0
    else:
        ref = run_search(prob, NSGA2Search(pop_size=a.pop), budget=a.nsga_budget * prob.n_expensive, seed=seed)
    return ref, ideal, nadir


def common_draws(prob, a, seed: int):
    """ReRAM with ``--common-seed C``: the problem whose every evaluation in seed ``seed``'s runs
    uses the seed ``C + seed`` (common random numbers, ``ReramTask.common_seed``); else ``prob``."""
    if a.common_seed is None or not isinstance(prob, ReramSearch):
        return prob
    return prob.with_common_seed(a.common_seed + seed)


def run_problem(name: str, a) -> dict:
    base, ideal, nadir = make_problem(name, smoke=a.smoke, validation=a.validation,
                                      evaluation_cost=a.evaluation_cost)
    out: dict = {"runs": {}}
    noisy = a.rescore > 0 and name == "reram_digits"
    cache: dict = {}  # rescored designs, shared by every run of this problem
    for seed in range(a.seeds):
        t0 = time.perf_counter()
        prob = common_draws(base, a, seed)
        ref, ideal, nadir = nsga2_reference(name, prob, ideal, nadir, a, seed)
        k = prob.n_expensive
        c_ref, hv_ref = hypervolume_trace(ref.evaluations, ideal=ideal, nadir=nadir)
        target, ref_cost = float(hv_ref[-1]), float(c_ref[-1])
        wall = name == "reram_digits" and a.evaluation_cost == "seconds"
        ref_wall = sum(e.charged_cost(True) for e in ref.evaluations) if wall else np.nan
        runs = {"nsga2": (ref, c_ref, hv_ref, time.perf_counter() - t0)}
        out.setdefault("final_hv", []).append(target)
        for alg_name, alg in algorithms(k, a).items():
            t0 = time.perf_counter()
            res = run_search(prob, alg, budget=a.fraction * ref_cost, seed=seed, q=a.q)
            c, hv = hypervolume_trace(res.evaluations, ideal=ideal, nadir=nadir)
            runs[alg_name] = (res, c, hv, time.perf_counter() - t0)
        for alg_name, (res, c, hv, secs) in runs.items():
            row = out["runs"].setdefault(alg_name, {k: [] for k in _ROW_KEYS})
            row["fraction"].append(cost_to_reach(c, hv, target) / ref_cost)
            row["hv_at_budget"].append(_hv_at(c, hv, a.fraction * ref_cost))
            row["hv_ratio"].append(row["hv_at_budget"][-1] / target)
            row["fraction_near"].append(cost_to_reach(c, hv, NEAR * target) / ref_cost)
            if wall:
                cw = np.cumsum([e.charged_cost(True) for e in res.evaluations])  # same HV trace, wall-clock axis
                row["fraction_wall"].append(cost_to_reach(cw, hv, target) / ref_wall)
                row["hv_at_wall"].append(_hv_at(cw, hv, a.fraction * ref_wall))
            row["seconds"].append(secs)
            if hasattr(getattr(prob, "bench", None), "pareto_set_distance"):
                row["set_distance"].append(late_set_distance(prob.bench, res.evaluations))
            row["traces"].append((c / ref_cost, hv, res.evaluations))
        if noisy:
            rescored = {n: rescore(prob, r[0].evaluations, repeats=a.rescore, seed=RESCORE_SEED, cache=cache)
                        for n, r in runs.items()}
            hv_r = {n: hypervolume_trace(ev, ideal=ideal, nadir=nadir)[1] for n, ev in rescored.items()}
            target_r = float(hv_r["nsga2"][-1])
            out.setdefault("final_hv_rescored", []).append(target_r)
            for alg_name, (_, c, _, _) in runs.items():
                row = out["runs"][alg_name]
                hv_b = _hv_at(c, hv_r[alg_name], a.fraction * ref_cost)
                row["fraction_rescored"].append(cost_to_reach(c, hv_r[alg_name], target_r) / ref_cost)
                row["hv_at_budget_rescored"].append(hv_b)
                row["hv_ratio_rescored"].append(hv_b / target_r)
                row["fraction_near_rescored"].append(cost_to_reach(c, hv_r[alg_name], NEAR * target_r) / ref_cost)
                row["f_rescored"].append([e.f.tolist() for e in rescored[alg_name]])
        print(f"{name} seed {seed}: NSGA-II HV {target:.4f} at cost {ref_cost:.1f}; " + ", ".join(
            f"{n} {out['runs'][n]['fraction'][-1]:.3f}" for n in runs if n != "nsga2"), flush=True)
        if noisy:
            print(f"{name} seed {seed}, rescored: NSGA-II HV {target_r:.4f}; " + ", ".join(
                f"{n} {out['runs'][n]['fraction_rescored'][-1]:.3f}" for n in runs if n != "nsga2"), flush=True)
    return out


def late_set_distance(bench, evaluations) -> float:
    """Median distance to the Pareto set of the later half of the full-fidelity evaluations
    (module docstring); NaN without any."""
    x = np.array([e.x for e in evaluations if e.status == "ok" and e.z == 1.0]).reshape(-1, bench.n_var)
    return float(np.median(bench.pareto_set_distance(x[len(x) // 2:]))) if len(x) else float("nan")


def _reached(fractions: list[float]) -> str:
    """``"k/n"``: the seeds whose cost to reach a target is finite (``inf`` = not reached)."""
    return f"{int(np.isfinite(fractions).sum())}/{len(fractions)}"


_SUMMARY_HEAD = (f"{'median cost to reach NSGA-II HV':>34}{'seeds':>7}{'median HV at budget':>22}"
                 f"{'median HV / NSGA-II HV':>25}{'median cost to reach 99 %':>28}{'seeds':>7}")
"""The columns of :func:`_summary`."""


def _summary(row: dict, suffix: str = "") -> str:
    """A run's medians over seeds under :data:`_SUMMARY_HEAD`: the recorded ones, or with
    ``suffix="_rescored"`` the rescored ones."""
    frac, near = row["fraction" + suffix], row["fraction_near" + suffix]
    return (f"{np.median(frac):>34.4f}{_reached(frac):>7}{np.median(row['hv_at_budget' + suffix]):>22.4f}"
            f"{np.median(row['hv_ratio' + suffix]):>25.4f}{np.median(near):>28.4f}{_reached(near):>7}")


def _hv_at(cost: np.ndarray, hv: np.ndarray, budget: float) -> float:
    """Hypervolume once cumulative cost reaches ``budget`` (last evaluation within it)."""
    idx = np.searchsorted(cost, budget, side="right") - 1
    return float(hv[idx]) if idx >= 0 else 0.0


def plot(results: dict, stem: Path, fraction: float) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
    grid = np.linspace(0, 1, 201)
    for ax, (name, res) in zip(axes[0], results.items(), strict=True):
        for alg, row in res["runs"].items():
            curves = []
            for c, hv, _ in row["traces"]:
                curves.append(np.interp(grid, np.concatenate([[0.0], c]), np.concatenate([[0.0], hv]),
                                        right=np.nan))
            arr = np.array(curves)
            with warnings.catch_warnings():  # beyond a run's budget its curve is NaN (all-NaN columns)
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(arr, axis=0)
                lo, hi = np.nanpercentile(arr, 25, axis=0), np.nanpercentile(arr, 75, axis=0)
            line, = ax.plot(grid, med, label=alg)
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2)
        ax.axvline(fraction, color="k", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(0.005, 1.0)
        ax.set_xlabel("cumulative cost / NSGA-II's total cost")
        ax.set_ylabel("hypervolume (normalized, ref 1.1)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7)
    return save_figure(fig, stem)


def add_protocol_args(p: argparse.ArgumentParser) -> None:
    """The options of the protocol's problems, seeds and NSGA-II reference run (:func:`nsga2_reference`)."""
    p.add_argument("--problems", nargs="+", default=["branin_currin", "zdt1_mf", "dtlz2_accuracy_cost",
                                                            "reram_digits"])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--pop", type=int, default=20, help="NSGA-II population")
    p.add_argument("--nsga-budget", type=int, default=200, help="NSGA-II full-fidelity evaluations")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_protocol_args(p)
    p.add_argument("--fraction", type=float, default=0.25, help="others' budget / NSGA-II's cost")
    p.add_argument("--samples", type=int, default=5, help="posterior samples S")
    p.add_argument("--candidates", type=int, default=500)
    p.add_argument("--inner-pop", type=int, default=30)
    p.add_argument("--inner-gen", type=int, default=20)
    p.add_argument("--q", type=int, default=1)
    p.add_argument("--no-qnehvi", action="store_true")
    p.add_argument("--no-refine", action="store_true",
                   help="qLogNEHVI: maximize over random candidates only (no observed designs, no local search)")
    p.add_argument("--no-log-gain", action="store_true",
                   help="MES algorithms rank by the information gain itself (ties where it underflows to 0)")
    p.add_argument("--mes-refine", action="store_true",
                   help="MESMO/CF-MESMO: add the sampled Pareto sets' designs to the candidates and refine by "
                        "local search")
    p.add_argument("--mes-front-candidates", action="store_true",
                   help="MESMO/CF-MESMO: add the sampled Pareto sets' designs to the candidates (no local search)")
    p.add_argument("--mes-gain-cap", action="store_true",
                   help="MESMO/CF-MESMO: cap the information gain at the observation's information about its own "
                        "latent values (MESSearch.gain_cap)")
    p.add_argument("--mes-correlated", action="store_true",
                   help="CF-MESMO: information about the target fidelity through the correlation (iMOCA-E; "
                        "MESSearch.correlated)")
    p.add_argument("--mes-unpruned", action="store_true",
                   help="CF-MESMO: no BOCA-style fidelity pruning (MESSearch.unpruned)")
    p.add_argument("--algorithms", nargs="+", default=None,
                   help="run only these (NSGA-II always runs: it sets the target)")
    p.add_argument("--out", type=Path, default=Path("results/cfmesmo_vs_nsga2"))
    p.add_argument("--rescore", type=int, default=0, metavar="R",
                   help="ReRAM: also score every run by R fresh measurements of its designs (0: off)")
    p.add_argument("--common-seed", type=int, default=None, metavar="C",
                   help="ReRAM: every evaluation of seed s's runs uses the seed C + s (common random numbers, "
                        "ReramTask.common_seed); default: each evaluation its own seed")
    p.add_argument("--validation", type=float, default=None, metavar="F",
                   help="ReRAM: hold out the fraction F of each training class; searches record and choose on it, "
                        "--rescore measures on the test split (ReramTask.validation); default: record test accuracy")
    p.add_argument("--evaluation-cost", choices=("seconds", "passes"), default="seconds",
                   help="ReRAM: an evaluation costs its measured seconds, or its passes over data, 1 + epochs "
                        "(ReramTask.evaluation_cost: the same budgets on every machine)")
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args(argv)
    if a.rescore < 0:
        p.error(f"--rescore must be >= 0; got {a.rescore}")
    if a.validation is not None:  # the task's own check of the fraction, before anything is trained
        from search.evaluate import ReramTask

        try:
            ReramTask(validation=a.validation)
        except ConfigError as e:
            p.error(f"--validation: {e}")
    if a.smoke:
        a.seeds, a.pop, a.nsga_budget, a.fraction = 1, 4, 12, 0.5
        a.samples, a.candidates, a.inner_pop, a.inner_gen = 2, 64, 12, 4
    if a.common_seed is not None and not 0 <= a.common_seed < RESCORE_SEED - a.seeds:
        p.error(f"--common-seed must be in [0, {RESCORE_SEED - a.seeds}) (below the rescoring seeds); "
                f"got {a.common_seed}")
    t0 = time.perf_counter()
    cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    results: dict = {}
    groups: dict = {}
    for name in a.problems:  # results are written after every problem: an interrupted run keeps them
        results[name] = run_problem(name, a)
        for alg, row in results[name]["runs"].items():
            groups[f"{name}/{alg}"] = {
                "fraction_to_reach_nsga2": np.array(row["fraction"]), "hv_at_budget": np.array(row["hv_at_budget"]),
                "hv_ratio": np.array(row["hv_ratio"]), "fraction_to_reach_99pct": np.array(row["fraction_near"]),
                "seconds": np.array(row["seconds"]),
                "evaluations": json.dumps([[{"index": e.index, "x": e.x.tolist(), "z": e.z, "f": e.f.tolist(),
                                             "cheap": e.cheap.tolist(), "cost": e.cost, "status": e.status,
                                             "propose_seconds": e.propose_seconds, "proposal": e.proposal}
                                            for e in tr[2]] for tr in row["traces"]]),
            }
            if row["set_distance"]:
                groups[f"{name}/{alg}"]["pareto_set_distance"] = np.array(row["set_distance"])
            if row["fraction_rescored"]:
                groups[f"{name}/{alg}"] |= {
                    "fraction_to_reach_nsga2_rescored": np.array(row["fraction_rescored"]),
                    "hv_at_budget_rescored": np.array(row["hv_at_budget_rescored"]),
                    "hv_ratio_rescored": np.array(row["hv_ratio_rescored"]),
                    "fraction_to_reach_99pct_rescored": np.array(row["fraction_near_rescored"]),
                    "f_rescored": json.dumps(row["f_rescored"])}
            if alg == "nsga2":  # the targets H* (recorded, and rescored with --rescore)
                groups[f"{name}/{alg}"] |= {k: np.array(results[name][k]) for k in ("final_hv", "final_hv_rescored")
                                            if k in results[name]}
            if row["fraction_wall"]:
                groups[f"{name}/{alg}"] |= {"fraction_to_reach_nsga2_wall": np.array(row["fraction_wall"]),
                                            "hv_at_wall": np.array(row["hv_at_wall"])}
        write_h5(a.out / "results.h5", groups, provenance(cfg, None))
        plot(results, a.out / "hypervolume", a.fraction)
    print(f"\n{'problem':<22}{'algorithm':<18}{_SUMMARY_HEAD}")
    for name, res in results.items():
        for alg, row in res["runs"].items():
            print(f"{name:<22}{alg:<18}{_summary(row)}")
    for name, res in results.items():
        if any(row["set_distance"] for row in res["runs"].values()):
            print(f"\n{name}, distance of the later half of the full-fidelity evaluations to the Pareto set")
            print(f"{'algorithm':<18}{'median over seeds':>18}   per seed")
            for alg, row in res["runs"].items():
                print(f"{alg:<18}{np.median(row['set_distance']):>18.3f}   "
                      + " ".join(f"{v:.3f}" for v in row["set_distance"]))
    for name, res in results.items():
        if any(row["fraction_wall"] for row in res["runs"].values()):
            print(f"\n{name}, wall clock (evaluation + proposal seconds)")
            print(f"{'algorithm':<18}{'median wall to reach NSGA-II HV':>34}{'median HV at equal wall':>26}")
            for alg, row in res["runs"].items():
                print(f"{alg:<18}{np.median(row['fraction_wall']):>34.4f}{np.median(row['hv_at_wall']):>26.4f}")
    for name, res in results.items():
        if any(row["fraction_rescored"] for row in res["runs"].values()):
            print(f"\n{name}, rescored ({a.rescore} fresh measurements per design, common seeds)")
            print(f"{'algorithm':<18}{_SUMMARY_HEAD}")
            for alg, row in res["runs"].items():
                print(f"{alg:<18}{_summary(row, '_rescored')}")
    print(f"wrote {a.out / 'results.h5'} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
