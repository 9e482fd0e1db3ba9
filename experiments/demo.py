"""Demo on the embedded defaults: the whole pipeline, engine -> train -> simulate -> search.

1. Engine: programs a random 1024 x 1024 signed 8-bit layer on the default crossbar (128 x 128
   arrays, 2-bit cells, differential, 8-bit inputs through a 1-bit DAC) and reports the relative
   RMS error ``||y - x @ q|| / ||x @ q||`` against the exact product for each ADC resolution (over
   the max range) and noise setting (table, CSV and PNG).
2. Search: pretrains an MLP on scikit-learn's digits, then runs a small CF-MESMO search (trade-off
   truncation, the best CF-MESMO variant on this problem in the README's comparison) over the
   default ReRAM design space (crossbar size, cell bits, ADC bits, frequency, temperature,
   weight bits; accuracy after noise-aware fine-tuning measured through the simulated crossbar
   with PytorX physical noise; area, energy and latency from the ISAAC 32 nm cost model). The
   search chooses designs on a validation part (20 % of each training class, held out of
   pretraining and fine-tuning), never on the test split. Every
   evaluation is appended to ``search_store.h5`` as it finishes (re-running resumes), then the
   Pareto figures are written next to it and the Pareto designs are printed.
3. Rescore: the Pareto designs' accuracy measured afresh on the test split (4 fresh evaluations
   each, the same seeds for every design; :mod:`search.rescore`, ``xbarsim rescore``) into
   ``search_store_rescored.h5``: the recorded front keeps each design's one, selected and so
   optimistic, validation measurement; the table and ``search_store_rescored.png`` show recorded
   vs measured. Then the same designs afresh on the validation part (``xbarsim rescore --split
   search``, ``search_store_rescored_search.h5``), one line: what the front loses there is the luck
   of its recorded draws, the rest of the test split's loss the validation part's bias.

Run: ``make demo`` (or ``python -m experiments.demo --out results/demo``); about 4-5 minutes on
2 cores. ``--budget`` sets the search's budget in wall seconds: evaluation plus proposal time
(``charge_proposals``), so the demo takes the same time however fast evaluations or proposals are.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from crossbar import CrossbarConfig, NoiseConfig, program

#: Fraction of each training class the demo's search holds out to choose designs on (ReramTask.validation).
VALIDATION = 0.2

NOISES = {
    "no noise": NoiseConfig(),
    "programming sigma 0.1 level": NoiseConfig(program_sigma=0.1),
    "programming sigma 0.3 level": NoiseConfig(program_sigma=0.3),
    "PytorX physical (dg/3, thermal, shot, RTN)": NoiseConfig(
        physical_programming=True, thermal=True, shot=True, rtn=True),
}


def run(*, n: int, batch: int, adc_bits: list[int | None], seed: int) -> list[dict]:
    """Relative RMS error of every (noise, ADC bits) pair; one row per pair."""
    seq = np.random.SeedSequence(seed)
    data_rng, noise_seq = np.random.default_rng(seq.spawn(1)[0]), seq.spawn(1)[0]
    q = data_rng.integers(-127, 128, size=(n, n))
    x = data_rng.integers(0, 256, size=(batch, n))
    exact = (x @ q).astype(np.float64)
    norm = np.linalg.norm(exact)
    rows = []
    for noise_name, noise in NOISES.items():
        for bits in adc_bits:
            cfg = CrossbarConfig(adc_bits=bits, noise=noise)
            # same seeds for every ADC setting: identical programmed conductances and read draws
            prog_rng, read_rng = (np.random.default_rng(s) for s in noise_seq.spawn(2))
            t0 = time.perf_counter()
            y = program(q, cfg, rng=prog_rng).matmul(x, rng=read_rng)
            rows.append({"noise": noise_name, "adc_bits": "ideal" if bits is None else bits,
                         "rel_rms_error": float(np.linalg.norm(y - exact) / norm),
                         "seconds": time.perf_counter() - t0})
    return rows


def plot(rows: list[dict], path: Path, adc_bits: list[int | None], n: int) -> None:
    """Error vs ADC bits, one line per noise setting (log scale); ideal ADC at the right end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [b if b is not None else max(b2 for b2 in adc_bits if b2 is not None) + 1.5 for b in adc_bits]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    floor = 1e-3
    for name in NOISES:
        err = np.array([r["rel_rms_error"] for r in rows if r["noise"] == name])
        line, = ax.plot(xs, np.maximum(err, floor), marker="o", label=name)
        exact = err == 0.0
        if exact.any():  # exact results (error 0) are drawn on the floor with a star
            ax.plot(np.array(xs)[exact], np.full(exact.sum(), floor), "*", ms=14,
                    color=line.get_color(), label=f"{name}: exact (error 0)")
    ax.set_yscale("log")
    ax.set_ylim(floor * 0.7, 3.0)
    ax.set_xticks(xs, [str(b) if b is not None else "ideal" for b in adc_bits])
    ax.set_xlabel("ADC bits (full scale = max column sum; 9 bits is lossless at 128 rows)")
    ax.set_ylabel(r"relative RMS error $\|y - xq\| / \|xq\|$")
    ax.set_title(f"{n}x{n} layer, 128x128 arrays, 2-bit cells, 8-bit I/O", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("results/demo"))
    p.add_argument("--n", type=int, default=1024, help="layer size (n x n)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=240.0,
                   help="search budget [s of evaluation + proposal time]")
    p.add_argument("--skip-search", action="store_true", help="only the engine part")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, for the tests")
    a = p.parse_args(argv)
    n, batch = (64, 4) if a.smoke else (a.n, a.batch)
    adc_bits: list[int | None] = [3, 4, 5, 6, 7, 8, 9, 10, None]
    rows = run(n=n, batch=batch, adc_bits=adc_bits, seed=a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    with open(a.out / "adc_noise_error.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(rows, a.out / "adc_noise_error.png", adc_bits, n)
    print(f"relative RMS error of a {n}x{n} layer, batch {batch} (rows: noise; columns: ADC bits)")
    header = "".join(f"{str(b if b is not None else 'ideal'):>9}" for b in adc_bits)
    print(f"{'':<44}{header}")
    for name in NOISES:
        vals = "".join(f"{r['rel_rms_error']:>9.1e}" for r in rows if r["noise"] == name)
        print(f"{name:<44}{vals}")
    print(f"wrote {a.out / 'adc_noise_error.csv'} and {a.out / 'adc_noise_error.png'}")
    if not a.skip_search:
        from crossbar.errors import XbarError

        try:
            search_demo(a)
        except XbarError as err:  # e.g. a store of another version's demo: say what to do, no traceback
            print(f"demo: {err}", file=sys.stderr)
            return 2
    return 0


def search_demo(a) -> None:
    """Parts 2 and 3: pretrain on digits, CF-MESMO search over the default space, store and figures;
    the Pareto designs measured afresh."""
    from search.cli_search import plot_store
    from search.evaluate import ReramTask
    from search.rescore import plot_rescore, rescore_store, rescore_summary, rescore_table
    from search.run import reram_search, run_stored_search

    if a.smoke:
        task = ReramTask(pretrain_epochs=2, max_epochs=1, n_repeats=1, validation=VALIDATION)
        settings = dict(budget=3.0, n_samples=2, n_init=2)
    else:
        task = ReramTask(pretrain_epochs=30, max_epochs=4, n_repeats=2, validation=VALIDATION)
        settings = dict(budget=a.budget, n_samples=5, n_init=6)
    print(f"\nsearch: pretraining {task.model} on {task.dataset}, then CF-MESMO (trade-off truncation) over the "
          f"default ReRAM space (budget {settings['budget']:.0f} s of evaluation + proposal time)", flush=True)
    problem, alg, spec, describe = reram_search(task, seed=a.seed, progress=not a.smoke, truncation="tradeoff",
                                                charge_proposals=True, **settings)
    store = a.out / "search_store.h5"
    run_stored_search(problem, alg, spec, store, describe=describe, progress=not a.smoke)
    for path in plot_store(store):
        print(f"wrote {path}")
    # The recorded front keeps each design's one (selected, so lucky) measurement: measure it afresh.
    repeats = 2 if a.smoke else 4
    print(f"\nrescore: the Pareto designs measured afresh on the test split, {repeats} evaluations each "
          f"(xbarsim rescore {store})",
          flush=True)
    res = rescore_store(store, repeats=repeats, problem=problem, progress=not a.smoke)
    print(rescore_table(res))
    for path in plot_rescore(res):
        print(f"wrote {path}")
    # The same designs afresh on the validation part: what the front loses there is its luck alone.
    luck = rescore_store(store, repeats=repeats, split="search", problem=problem, progress=False)
    print(f"the same designs measured afresh on the validation part (xbarsim rescore {store} --split search): "
          f"{rescore_summary(luck)}; what they lose there is the luck of their recorded draws, the rest of what "
          "they lose on the test split the validation part's bias towards them")


if __name__ == "__main__":
    raise SystemExit(main())
