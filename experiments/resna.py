"""Noise-unaware vs noise-aware (ReSNA-style) training of LeNet-5 on digits over a device grid.

ReSNA (Yang et al., ICCAD 2021) injects the PytorX stochastic noise model (programming dg/3,
thermal 4kT and shot 2qV noise scaled by frequency and temperature, random telegraph noise)
into the bit-sliced conductances during training. Here: pretrain LeNet-5 in float; for each
(frequency, temperature, cell bits) point, evaluate the pretrained model through the noisy
crossbar (``"hardware"`` mode, ``--repeats`` independent devices: new programming noise and new
read noise each), then fine-tune a copy in ``"noisy"`` mode (fresh device noise every forward,
optionally FC layers trained with ``--fc-noise-scale`` times the noise, as ReSNA does; gradient
norm clipped at ``--grad-clip``; every layer's weights clipped at the power of two below
``--weight-clip-sigma`` standard deviations before and after every step,
:func:`mapping.nn.train.clip_weights`) and evaluate it the same way. ADCs are ideal so that only device
noise acts. Reports accuracy mean +- std and the recovered fraction
``(aware - unaware) / (noise-free quantized - unaware)``.

The programming term's step follows the cell's level spacing by default (1/3 of a level, so a
slice's error is amplified by its place value ``2**(c s)``); ``--programming-bits 7`` uses PytorX's
fixed ``(g_max - g_min) / 2**7`` instead. 5-bit cells are in the default grid because they are the
only cell width here with a moderate loss: 2-bit (and 3-bit) cells collapse without noise-aware
training, 4- and 8-bit cells lose little. The weight clip is what makes 2-bit cells recoverable:
the device noise is a fixed fraction of the layer's fixed-point scale, which the clip keeps
from being set by a few outliers (``--weight-clip-sigma 0`` turns it off). A point whose
noise-aware training diverges is recorded as NaN and the grid goes on. ``--finetune-mode
quantized`` is the ablation: the same fine-tuning and clip without device noise.

Run: ``python -m experiments.resna [--out DIR] [--smoke] [--vote]``; writes ``results.h5`` and
``accuracy.png/.pdf``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from crossbar import CrossbarConfig, NoiseConfig, TrainingDivergedError
from experiments._common import provenance, save_figure, write_h5
from mapping.data import load_digits
from mapping.nn import convert
from mapping.nn.models import lenet5
from mapping.nn.train import EvalResult, TrainConfig, evaluate, fit
from mapping.nn.vote import add_majority_vote, set_noise_scale

PHYSICAL = NoiseConfig(physical_programming=True, thermal=True, shot=True, rtn=True)
COLUMNS = ("frequency_hz", "temperature_k", "cell_bits", "quantized_acc", "unaware_mean", "unaware_std",
           "aware_mean", "aware_std", "loss_points", "recovered_fraction")


def run(args) -> np.ndarray:
    torch.manual_seed(args.seed)
    data = load_digits(seed=args.seed)
    model = lenet5(1, 8, data.n_classes)
    fit(model, data, TrainConfig(epochs=args.pretrain_epochs, lr=0.05, momentum=0.9, seed=args.seed),
        progress=False)
    fc_names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    rows = []
    grid = list(itertools.product(args.frequencies, args.temperatures, args.cell_bits))
    noise = dataclasses.replace(PHYSICAL, physical_programming_bits=args.programming_bits)
    for k, (f, t, c) in enumerate(grid):
        cfg = CrossbarConfig(cell_bits=c, frequency=f, temperature=t, read_voltage=args.read_voltage, noise=noise)
        unaware = convert(model, cfg, seed=args.seed + k)
        q = evaluate(unaware, data.x_test, data.y_test, mode="quantized").mean
        ev = dict(mode="hardware", n_repeats=args.repeats, seed=10_000 + k)
        u = evaluate(unaware, data.x_test, data.y_test, **ev)
        aware = convert(model, cfg, seed=args.seed + k)
        set_noise_scale(aware, args.fc_noise_scale, names=fc_names)
        if args.vote:
            add_majority_vote(aware, fc_names[-1])
        try:
            fit(aware, data, TrainConfig(epochs=args.finetune_epochs, lr=args.lr, momentum=0.9,
                                         mode=args.finetune_mode, grad_clip=args.grad_clip,
                                         weight_clip_sigma=args.weight_clip_sigma or None, seed=args.seed + k),
                progress=False)
            a = evaluate(aware, data.x_test, data.y_test, **ev)
        except TrainingDivergedError as err:  # recorded as NaN; the grid goes on
            print(f"f={f / 1e6:.0f} MHz T={t:.0f} K cell={c}b: noise-aware training diverged: {err}")
            a = EvalResult(mode="hardware", accuracies=(np.nan,), mean=np.nan, std=np.nan)
        loss = q - u.mean
        rec = (a.mean - u.mean) / loss if loss > 0 else np.nan
        rows.append((f, t, c, q, u.mean, u.std, a.mean, a.std, 100 * loss, rec))
        print(f"f={f / 1e6:6.0f} MHz T={t:3.0f} K cell={c}b: quantized {100 * q:5.1f}%  unaware "
              f"{100 * u.mean:5.1f}+-{100 * u.std:4.1f}%  aware {100 * a.mean:5.1f}+-{100 * a.std:4.1f}%  "
              f"recovered {rec:.2f}", flush=True)
    return np.array(rows, dtype=np.float64)


def plot(table: np.ndarray, stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r[0] / 1e6:.0f}MHz\n{r[1]:.0f}K\n{int(r[2])}b" for r in table]
    xs = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(table) + 2), 3.8))
    ax.bar(xs - 0.2, 100 * table[:, 4], 0.4, yerr=100 * table[:, 5], label="noise-unaware", capsize=2)
    ax.bar(xs + 0.2, 100 * table[:, 6], 0.4, yerr=100 * table[:, 7], label="noise-aware (ReSNA)", capsize=2)
    ax.plot(xs, 100 * table[:, 3], "k_", ms=14, label="noise-free quantized")
    ax.set_xticks(xs, labels, fontsize=6)
    ax.set_ylabel("test accuracy [%] (hardware mode)")
    ax.set_title("LeNet-5 on digits through the noisy crossbar (PytorX physical noise)", fontsize=10)
    ax.legend(fontsize=7)
    return save_figure(fig, stem)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("results/resna"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frequencies", type=float, nargs="+", default=[1e8, 5e8, 1e9])
    p.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 350.0, 400.0])
    p.add_argument("--cell-bits", type=int, nargs="+", default=[2, 4, 5, 8])
    p.add_argument("--pretrain-epochs", type=int, default=40)
    p.add_argument("--finetune-epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--programming-bits", type=int, default=None,
                   help="PytorX's fixed programming step (g_max - g_min) / 2**b (PytorX: 7); "
                        "default: one third of the cell's level spacing")
    p.add_argument("--read-voltage", type=float, default=0.5,
                   help="read voltage V [V] of the thermal (1/V^2) and shot (1/V) terms")
    p.add_argument("--grad-clip", type=float, default=1.0,
                   help="gradient-norm clip of noise-aware training (heavy noise diverges without it)")
    p.add_argument("--fc-noise-scale", type=float, default=1.0)
    p.add_argument("--weight-clip-sigma", type=float, default=2.0,
                   help="noise-aware training clips each layer's weights at the power of two below this many "
                        "standard deviations after every step (mapping.nn.train.clip_weights); 0: no clipping")
    p.add_argument("--finetune-mode", choices=["noisy", "quantized"], default="noisy",
                   help="mode of the fine-tuning: noisy (noise-aware) or quantized (the ablation: the same "
                        "fine-tuning and weight clip without device noise)")
    p.add_argument("--vote", action="store_true", help="3-copy majority vote on the last layer")
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args(argv)
    if not (np.isfinite(a.weight_clip_sigma) and a.weight_clip_sigma >= 0):
        p.error(f"--weight-clip-sigma must be a finite number >= 0 (0: no clipping); got {a.weight_clip_sigma}")
    if a.smoke:
        a.frequencies, a.temperatures, a.cell_bits = [1e9], [400.0], [4]
        a.pretrain_epochs, a.finetune_epochs, a.repeats = 3, 1, 2
    t0 = time.perf_counter()
    table = run(a)
    cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    write_h5(a.out / "results.h5", {"grid": {"table": table, "columns": ",".join(COLUMNS)}},
             provenance(cfg, a.seed))
    plot(table, a.out / "accuracy")
    big = table[table[:, 8] >= 5.0]
    if len(big):
        print(f"{len(big)} settings where noise costs >= 5 points: recovered fraction min "
              f"{np.nanmin(big[:, 9]):.2f}, median {np.nanmedian(big[:, 9]):.2f}")
    print(f"wrote {a.out / 'results.h5'} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
