"""Bit-slice L1 vs plain L1 (Zhang et al., EMC2 @ NeurIPS 2019) on the digits MLP (MNIST with --data-dir).

Pipeline of the reference implementation (zjysteven/bitslice_sparsity), scaled to digits:
pretrain a float MLP with plain L1, magnitude-prune ``|w| < 0.01`` (fixed mask), then fine-tune
two copies in dynamic fixed point (sign + 8-bit magnitude = ``weight_bits=9``, 2-bit cells):
one with plain L1, one with bit-slice L1 (alpha 0.5); keep each run's epoch with the best
accuracy + mean per-slice zero ratio. That accuracy is the test accuracy, as in the reference
code, unless ``--validation F`` holds out the fraction ``F`` of each training class
(:meth:`mapping.data.Dataset.split_validation`, seeded with ``--seed``): then every training step
(pretraining, fine-tuning, ADC-aware fine-tuning, the ADC plans' training-set accuracy) sees only
the rest, the selection (and ``fit``'s per-epoch accuracies) use the held-out part, and the test
split is used only for the reported measurements. Reports per-slice zero ratios, accuracy, the ADC bits each
slice needs (max / 99.9 % / 99 % of the column sums on the test set), and accuracy in
``"hardware"`` mode with a 1-bit ADC on the MSB slice and 3-bit ADCs on the others (full scale =
the code range, i.e. one code per cell level: sums above 1 / 7 clip).

ADC-aware fine-tuning (``--adc-finetune-epochs E``, default 30; 0 skips it). For each method's
selected model and each crossbar height ``R`` in ``--adc-rows``, separately (each ``R`` is its own
chip):

1. copy the model with ``reconfigure(model, cfg(rows=R, adc_bits=ADC_BITS, adc_range=--adc-range))``
   and re-fix the pruning mask of the selection step (:func:`mapping.nn.bitslice.apply_masks`:
   the copy loses the mask's gradient hooks), so pruned weights stay exactly zero;
2. ``fit`` it for ``E`` epochs (SGD, ``--adc-lr``, ``--momentum``, batch 64, seed ``seed + 2``) in
   ``"hardware"`` mode: the loss is cross-entropy of the exact crossbar forward with the 1-bit /
   3-bit ADCs, plus the method's own regularizer (plain L1 alpha ``--alpha-l1``, or bit-slice L1
   alpha ``--alpha-bitslice``). The gradient (``--adc-grad``) is by default that of the
   differentiable crossbar twin (``hardware_grad="adc"``,
   :func:`mapping.nn.torch_engine.matmul_surrogate`: straight through the roundings, zero through
   clipped column sums); ``--adc-grad ste`` uses the ``"quantized"`` forward's straight-through
   gradient, which does not see the clipping;
3. keep the *last* epoch (no selection on the test set here; the selection step before does
   select its epoch on test accuracy + zero ratio) and report its ``"hardware"``-mode test
   accuracy with the same ADCs at ``R`` rows, its per-slice zero ratios and its ideal-ADC
   (``"quantized"``) accuracy.

ADC study (``--adc-max-loss L``, default 1 point; :mod:`mapping.nn.adc`), for each method's
selected model (before ADC-aware fine-tuning) at ``--rows`` with the 1-bit / 3-bit ADCs:

- attribution on the test set: accuracy with only one layer's (or one slice's) ADCs at 1b/3b
  and all others ideal;
- two greedy plans: one more bit at a time (same step, doubled range) to the (layer, slice) ADC
  that helps most (``plan``), or that adds the most accuracy per joule of energy per inference
  (``energy_plan``), until within ``L`` points of the ideal-ADC accuracy (``--adc-trim``: then
  trimmed to a 1-minimal plan, :func:`mapping.nn.adc.plan_adc_bits`), both selected on the
  *training* set and reported on the test set;
- energy per inference and area (:mod:`crossbar.cost`, ``isaac_ce_32nm``) with the 1b/3b, the
  planned and ideal (lossless) ADCs;
- the same ADCs as signed ADCs of the differential pairs (``differential_adc="subtract"``, one bit
  more each: 2-bit MSB / 4-bit others, the same codes and step per sign, half the conversions):
  test accuracy, energy and area, the two greedy plans started from them (``signed_plan``,
  ``signed_energy_plan``), and (with ``--adc-finetune-epochs`` > 0) the test accuracy after
  ADC-aware fine-tuning with them at ``--rows``, as in step 2 above.

Run: ``python -m experiments.bitslice_sparsity [--data-dir MNIST_DIR] [--out DIR] [--smoke]``.
Writes ``results.h5`` (+ provenance attributes), ``zero_ratios.png/.pdf``, ``adc_study.png/.pdf``
and ``adc_paths.png/.pdf`` (test accuracy vs energy along each plan) under ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

from crossbar import CrossbarConfig
from crossbar.errors import ConfigError
from experiments._common import provenance, save_figure, write_h5
from mapping.data import is_fraction, load_digits, load_mnist
from mapping.nn import convert, crossbar_layers, reconfigure
from mapping.nn.adc import adc_attribution, network_cost, plan_adc_bits
from mapping.nn.bitslice import (
    apply_masks,
    bitslice_l1,
    column_sum_report,
    plain_l1,
    prune,
    slice_zero_ratios,
)
from mapping.nn.models import mlp
from mapping.nn.train import TrainConfig, evaluate, fit

ADC_BITS = (3, 3, 3, 1)  # least significant slice first: 3-bit ADCs, 1-bit on the MSB slice
ADC_RANGE = (7.0, 7.0, 7.0, 1.0)
TECH = "isaac_ce_32nm"  # technology of the ADC study's energy and area


def regularizer(method: str, args):
    """The method's loss term: bit-slice L1 or plain L1."""
    return ((lambda m: bitslice_l1(m, alpha=args.alpha_bitslice)) if method == "bitslice"
            else (lambda m: plain_l1(m, alpha=args.alpha_l1)))


def finetune(model, data, cfg, method: str, args, seed: int):
    """Fine-tune a converted, pruned copy on ``data`` (its ``x_test`` is what the epoch is selected
    on); returns the selected model, its epoch and the masks."""
    xn = convert(model, cfg, seed=seed)
    masks = prune(xn, threshold=args.prune)
    reg = regularizer(method, args)
    best: dict = {"score": -np.inf}

    def select(epoch, m, hist):
        zr = slice_zero_ratios(m).mean_zero_ratio
        score = hist.test_accuracy[-1] + zr
        if score > best["score"]:
            best.update(score=score, epoch=epoch, state=copy.deepcopy(m.state_dict()))

    fit(xn, data, TrainConfig(epochs=args.finetune_epochs, lr=args.lr, momentum=args.momentum,
                              batch_size=64, mode="quantized", seed=seed),
        regularizer=reg, progress=not args.smoke, callback=select)
    xn.load_state_dict(best["state"])
    return xn, best["epoch"], masks


def adc_finetune(xn, masks, data, train, hw_cfg, method: str, args, seed: int, heights=None) -> dict:
    """ADC-aware fine-tuning of ``xn`` on ``train`` at every height in ``heights`` (default
    ``args.adc_rows``; module docstring), measured on ``data``'s test split.

    Returns arrays over the heights: hardware and quantized test accuracy of the last
    epoch, zero ratios ``(n_rows, n_layers, n_slices)``, mean zero ratios and the per-epoch
    hardware accuracy on ``train.x_test`` ``(n_rows, epochs)`` (``fit``'s, on batches of 512 instead
    of ``evaluate``'s 256: the input exponent is per batch, so with ``train = data`` its last entry
    may differ slightly from the test accuracy).
    """
    hw, q, zrs, mean_zr, by_epoch = [], [], [], [], []
    for rows in args.adc_rows if heights is None else heights:
        m = apply_masks(reconfigure(xn, hw_cfg.replace(rows=rows)), masks)
        hist = fit(m, train, TrainConfig(epochs=args.adc_finetune_epochs, lr=args.adc_lr,
                                        momentum=args.momentum, batch_size=64, mode="hardware",
                                        lr_step=args.adc_lr_step, hardware_grad=args.adc_grad, seed=seed),
                   regularizer=regularizer(method, args), progress=not args.smoke)
        hw.append(evaluate(m, data.x_test, data.y_test, mode="hardware").mean)
        q.append(evaluate(m, data.x_test, data.y_test, mode="quantized").mean)
        zr = slice_zero_ratios(m)
        zrs.append(zr.zero_ratio)
        mean_zr.append(zr.mean_zero_ratio)
        by_epoch.append(hist.test_accuracy)
    return {"hardware_accuracy_by_rows": np.array(hw), "quantized_accuracy_by_rows": np.array(q),
            "zero_ratio": np.array(zrs), "mean_zero_ratio": np.array(mean_zr),
            "hardware_accuracy_by_epoch": np.array(by_epoch)}


def signed_adcs(cfg: CrossbarConfig) -> CrossbarConfig:
    """``cfg``'s ADCs as signed ADCs of the differential pairs: one bit more each, so the same
    codes and step per sign (2-bit MSB / 4-bit others for 1b/3b), half the conversions."""
    return cfg.replace(differential_adc="subtract", adc_bits=tuple(b + 1 for b in cfg.slice_adc_bits()))


def adc_study(xn, data, train, hw_cfg, args) -> dict:
    """The ADC study of the module docstring for the selected model ``xn`` at ``args.rows`` (plans
    on ``train.x_train``, measurements on ``data``'s test split)."""
    lossy = reconfigure(xn, hw_cfg.replace(rows=args.rows))
    attr = adc_attribution(lossy, data.x_test, data.y_test)
    cost = network_cost(lossy, data.x_train.shape[1:], TECH)
    def energy(configs):
        return cost(configs).energy

    def planned(model, by=None):
        return plan_adc_bits(model, train.x_train, train.y_train, max_loss=args.adc_max_loss, cost=by,
                             trim=args.adc_trim)

    plans = {"plan": planned(lossy), "energy_plan": planned(lossy, energy)}
    out = {"attribution_ideal_accuracy": attr.ideal_accuracy, "attribution_accuracy": attr.accuracy,
           "attribution_layer_accuracy": attr.layer_accuracy, "attribution_slice_accuracy": attr.slice_accuracy,
           "start_bits": plans["plan"].start_bits}
    layers = {name: layer.xbar.config for name, layer in crossbar_layers(lossy)}
    configs = {"1b3b": layers, "ideal": {n: c.replace(adc_bits=None, adc_range="max") for n, c in layers.items()},
               "signed": {n: signed_adcs(c) for n, c in layers.items()}}
    out["signed_bits"] = np.array([c.adc_bits for c in configs["signed"].values()])
    signed = reconfigure(lossy, configs["signed"])
    out["signed_test_accuracy"] = evaluate(signed, data.x_test, data.y_test, mode="hardware").mean
    plans |= {"signed_plan": planned(signed), "signed_energy_plan": planned(signed, energy)}
    for key, plan in plans.items():
        configs[key] = plan.configs
        path = [configs["signed" if key.startswith("signed") else "1b3b"], *plan.path]  # start, then each step
        out[f"{key}_path_test_accuracy"] = np.array(
            [evaluate(reconfigure(lossy, c), data.x_test, data.y_test, mode="hardware").mean for c in path])
        out[f"{key}_path_energy"] = np.array([cost(c).energy for c in path])
        out |= {f"{key}_bits": plan.bits, f"{key}_extra_bits": plan.extra_bits,
                f"{key}_steps": np.array(plan.steps, dtype=np.float64).reshape(-1, 4),
                f"{key}_train_accuracy": plan.accuracy, f"{key}_met_on_train": plan.met,
                f"{key}_test_accuracy": evaluate(reconfigure(lossy, plan.configs), data.x_test, data.y_test,
                                                 mode="hardware").mean}
    for key, c in configs.items():
        r = cost(c)
        out |= {f"energy_{key}": r.energy, f"adc_energy_{key}": r.breakdown["adc"].energy,
                f"area_mm2_{key}": r.area_mm2}
    return out


def run(args) -> dict:
    torch.manual_seed(args.seed)
    data = load_mnist(args.data_dir, limit=args.limit) if args.data_dir else load_digits(seed=args.seed)
    # what training and selection see: the training split, or its rest and the held-out part
    train = data if args.validation is None else data.split_validation(args.validation, seed=args.seed)
    n_in = int(np.prod(data.x_train.shape[1:]))
    model = mlp((n_in, 100, data.n_classes))
    fit(model, train, TrainConfig(epochs=args.pretrain_epochs, lr=args.lr, momentum=args.momentum,
                                 batch_size=64, seed=args.seed),
        regularizer=lambda m: plain_l1(m, alpha=args.alpha_pretrain), progress=not args.smoke)
    cfg = CrossbarConfig(rows=args.rows, weight_bits=9, cell_bits=2, input_bits=8)
    hw_cfg = cfg.replace(adc_bits=ADC_BITS, adc_range=tuple(args.adc_range))
    out: dict = {"float_accuracy": evaluate(convert(model, cfg), data.x_test, data.y_test, mode="float").mean}
    for method in ("l1", "bitslice"):
        xn, epoch, masks = finetune(model, train, cfg, method, args, args.seed + 1)
        zr = slice_zero_ratios(xn)
        rep = column_sum_report(xn, data.x_test)
        hw_acc = [evaluate(reconfigure(xn, hw_cfg.replace(rows=r)), data.x_test, data.y_test,
                           mode="hardware").mean for r in args.adc_rows]  # same weights, 1/3-bit ADCs
        out[method] = {
            "selected_epoch": epoch,
            "accuracy": evaluate(xn, data.x_test, data.y_test, mode="quantized").mean,
            "hardware_accuracy_1b_3b_adc": hw_acc[args.adc_rows.index(args.rows)],
            "hardware_accuracy_by_rows": np.array(hw_acc),
            "zero_ratio": zr.zero_ratio, "mean_zero_ratio": zr.mean_zero_ratio,
            "layers": list(zr.layers), "adc_bits": rep.adc_bits, "coverages": list(rep.coverages),
        }
        out[method]["adc_study"] = adc_study(xn, data, train, hw_cfg, args)
        if args.adc_finetune_epochs > 0:
            out[method]["adc_finetuned"] = adc_finetune(xn, masks, data, train, hw_cfg, method, args, args.seed + 2)
            out[method]["adc_finetuned_signed"] = adc_finetune(xn, masks, data, train, signed_adcs(hw_cfg), method,
                                                               args, args.seed + 2, heights=[args.rows])
    l1, bs = out["l1"], out["bitslice"]
    out["zero_ratio_gain"] = bs["mean_zero_ratio"] / max(l1["mean_zero_ratio"], 1e-12)
    out["nonzero_ratio_reduction"] = (1 - l1["mean_zero_ratio"]) / max(1 - bs["mean_zero_ratio"], 1e-12)
    out["accuracy_loss_points"] = 100 * (l1["accuracy"] - bs["accuracy"])
    out["adc_cost_points"] = 100 * (bs["accuracy"] - bs["hardware_accuracy_1b_3b_adc"])
    if args.adc_finetune_epochs > 0:
        after = bs["adc_finetuned"]["hardware_accuracy_by_rows"][args.adc_rows.index(args.rows)]
        out["adc_cost_points_after_finetune"] = 100 * (bs["accuracy"] - after)
        out["signed_adc_cost_points_after_finetune"] = 100 * (
            bs["accuracy"] - bs["adc_finetuned_signed"]["hardware_accuracy_by_rows"][0])
    out["adc_rows"] = np.array(args.adc_rows)
    out["n_validation"] = float(train.n_test if args.validation is not None else 0)
    return out


def plot(out: dict, stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.0, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    n_slices = out["l1"]["zero_ratio"].shape[1]
    xs = np.arange(n_slices)
    for k, (method, label) in enumerate((("l1", "plain L1"), ("bitslice", "bit-slice L1"))):
        zr = out[method]["zero_ratio"].mean(axis=0)
        ax.bar(xs + (k - 0.5) * 0.38, zr[::-1], width=0.38,
               label=f"{label} (acc {100 * out[method]['accuracy']:.1f}%)")
    ax.set_xticks(xs, [f"slice {i + 1}" + (" (MSB)" if i == 0 else "") for i in range(n_slices)])
    ax.set_ylabel("zero ratio (mean over layers)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("Per-slice zero ratio, 2-bit cells, sign + 8-bit magnitude", fontsize=10)
    for method, label in (("l1", "plain L1"), ("bitslice", "bit-slice L1")):
        ax2.plot(out["adc_rows"], 100 * out[method]["hardware_accuracy_by_rows"], "o-", label=label)
        color = ax2.lines[-1].get_color()
        ax2.axhline(100 * out[method]["accuracy"], ls=":", color=color)
        if "adc_finetuned" in out[method]:
            ax2.plot(out["adc_rows"], 100 * out[method]["adc_finetuned"]["hardware_accuracy_by_rows"], "s--",
                     color=color, label=f"{label}, ADC-aware fine-tuned")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("crossbar rows")
    ax2.set_ylabel("accuracy [%], 1-bit MSB / 3-bit ADCs")
    ax2.set_title("dotted: ideal-ADC accuracy before ADC-aware fine-tuning", fontsize=9)
    ax2.legend(fontsize=8)
    return save_figure(fig, stem)


def plot_adc_study(out: dict, stem: Path) -> list[Path]:
    """Per method: accuracy loss [points] with only one (layer, slice) ADC at 1b/3b (colour), and
    the ADC bits of both plans in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2), sharey=True)
    vmax = max(100 * (out[m]["adc_study"]["attribution_ideal_accuracy"]
                      - np.nanmin(out[m]["adc_study"]["attribution_slice_accuracy"])) for m in ("l1", "bitslice"))
    for ax, (method, label) in zip(axes, (("l1", "plain L1"), ("bitslice", "bit-slice L1")), strict=True):
        st = out[method]["adc_study"]
        loss = 100 * (st["attribution_ideal_accuracy"] - st["attribution_slice_accuracy"][:, ::-1])  # MSB first
        im = ax.imshow(loss, cmap="Reds", vmin=0, vmax=max(vmax, 1e-9), aspect="auto")
        bits, ebits = st["plan_bits"][:, ::-1], st["energy_plan_bits"][:, ::-1]
        for (i, j), v in np.ndenumerate(loss):
            ax.text(j, i, f"{v:.2f} pt\n{bits[i, j]} / {ebits[i, j]} b", ha="center", va="center", fontsize=8,
                    color="white" if v > 0.6 * vmax else "black")
        n_slices = loss.shape[1]
        ax.set_xticks(range(n_slices), [f"slice {k + 1}" + (" (MSB)" if k == 0 else "") for k in range(n_slices)])
        ax.set_yticks(range(loss.shape[0]), [f"layer {n}" for n in out[method]["layers"]])
        total = 100 * (st["attribution_ideal_accuracy"] - st["attribution_accuracy"])
        ax.set_title(f"{label}: 1b/3b loss {total:.1f} pt; plans +{st['plan_extra_bits']} / "
                     f"+{st['energy_plan_extra_bits']} b", fontsize=9)
    fig.colorbar(im, ax=axes[1], label="loss, only this ADC at 1b/3b [points]")
    fig.suptitle("ADC study: per-slice loss; planned ADC bits (fewest bits / least energy)", fontsize=10)
    return save_figure(fig, stem)


PLANS = (("plan", "fewest bits from 1b/3b"), ("energy_plan", "least energy from 1b/3b"),
         ("signed_plan", "fewest bits from signed 2b/4b"), ("signed_energy_plan", "least energy from signed 2b/4b"))


def plot_adc_paths(out: dict, stem: Path) -> list[Path]:
    """Per method: test accuracy against energy per inference along each greedy plan (its start,
    then every added bit), and the ideal (lossless) ADCs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharey=True)
    for ax, (method, label) in zip(axes, (("l1", "plain L1"), ("bitslice", "bit-slice L1")), strict=True):
        st = out[method]["adc_study"]
        for (key, name), marker in zip(PLANS, "os^v", strict=True):
            ax.plot(1e9 * st[f"{key}_path_energy"], 100 * st[f"{key}_path_test_accuracy"], marker=marker,
                    ms=3.5, lw=1, label=name)
        ax.plot([1e9 * st["energy_ideal"]], [100 * st["attribution_ideal_accuracy"]], "k*", ms=8,
                label="ideal (lossless) ADCs")
        ax.axhline(100 * st["attribution_ideal_accuracy"] - 1, color="grey", lw=0.8, ls="--")
        ax.set_title(f"{label} (dashed: 1 point below ideal)", fontsize=9)
        ax.set_xlabel("energy per inference [nJ]")
    axes[0].set_ylabel("test accuracy, hardware mode [%]")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Greedy ADC plans at 128 rows: accuracy vs energy, one point per added bit", fontsize=10)
    return save_figure(fig, stem)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST idx directory (default: digits)")
    p.add_argument("--limit", type=int, default=None, help="MNIST: first N samples of each split")
    p.add_argument("--out", type=Path, default=Path("results/bitslice_sparsity"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows", type=int, default=128, help="crossbar rows (ADC column-sum height)")
    p.add_argument("--adc-rows", type=int, nargs="+", default=[128, 64, 32, 16, 8],
                   help="crossbar heights at which the 1-bit/3-bit ADC accuracy is also reported")
    p.add_argument("--pretrain-epochs", type=int, default=60)
    p.add_argument("--finetune-epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--alpha-pretrain", type=float, default=1.0)
    p.add_argument("--alpha-l1", type=float, default=1.0)
    p.add_argument("--alpha-bitslice", type=float, default=0.5)
    p.add_argument("--prune", type=float, default=0.01)
    p.add_argument("--adc-finetune-epochs", type=int, default=30,
                   help="epochs of ADC-aware fine-tuning in hardware mode per --adc-rows height (0: skip)")
    p.add_argument("--adc-lr", type=float, default=0.003, help="learning rate of ADC-aware fine-tuning")
    p.add_argument("--adc-lr-step", type=int, default=None,
                   help="halve the ADC-aware fine-tuning learning rate every this many epochs (default: constant)")
    p.add_argument("--adc-grad", choices=["ste", "adc"], default="adc",
                   help="gradient of ADC-aware fine-tuning: straight-through of the quantized forward (ste) "
                        "or of the differentiable crossbar twin that sees ADC clipping (adc)")
    p.add_argument("--adc-range", type=float, nargs=4, default=list(ADC_RANGE), metavar="FS",
                   help="full scale of each slice's ADC in column-sum units, least significant slice first "
                        "(default 7 7 7 1: one code per unit, so sums above 7 / 1 clip; 14 14 14 2 halves the "
                        "resolution and doubles the range)")
    p.add_argument("--adc-max-loss", type=float, default=1.0,
                   help="ADC study: accuracy loss [points] the greedy ADC plan may leave against ideal ADCs")
    p.add_argument("--adc-trim", action="store_true",
                   help="ADC study: trim every met plan to a 1-minimal one (plan_adc_bits(trim=True))")
    p.add_argument("--validation", type=float, default=None, metavar="F",
                   help="hold out this fraction of each training class and select the fine-tuning epoch on it "
                        "(default: on the test split, as the reference code does)")
    p.add_argument("--smoke", action="store_true", help="seconds-long run for the tests")
    a = p.parse_args(argv)
    if a.validation is not None and not is_fraction(a.validation):
        p.error(f"--validation must be a fraction in the open interval (0, 1); got {a.validation}")
    try:
        CrossbarConfig(weight_bits=9, cell_bits=2, adc_bits=ADC_BITS, adc_range=tuple(a.adc_range))
    except ConfigError as e:
        p.error(f"--adc-range: {e}")
    if a.adc_finetune_epochs < 0:
        p.error(f"--adc-finetune-epochs must be an integer >= 0 (0 skips ADC-aware fine-tuning); "
                f"got {a.adc_finetune_epochs}")
    if a.adc_lr_step is not None and a.adc_lr_step < 1:
        p.error(f"--adc-lr-step must be an integer >= 1 (omit it for a constant rate); got {a.adc_lr_step}")
    if not (np.isfinite(a.adc_lr) and a.adc_lr > 0):
        p.error(f"--adc-lr must be a finite number > 0; got {a.adc_lr}")
    if not (np.isfinite(a.adc_max_loss) and a.adc_max_loss >= 0):
        p.error(f"--adc-max-loss must be a finite number of points >= 0; got {a.adc_max_loss}")
    if a.smoke:
        a.pretrain_epochs, a.finetune_epochs, a.adc_rows = 2, 2, [a.rows, 16]
        a.adc_finetune_epochs = min(a.adc_finetune_epochs, 1)
    if a.rows not in a.adc_rows:
        a.adc_rows = [a.rows, *a.adc_rows]
    t0 = time.perf_counter()
    out = run(a)
    cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    scalars = {k: v for k, v in out.items() if isinstance(v, float)}
    groups = {"summary": {**scalars, "adc_rows": out["adc_rows"]}}
    for method in ("l1", "bitslice"):
        r = out[method]
        groups[method] = {"zero_ratio": r["zero_ratio"], "adc_bits": r["adc_bits"],
                          "accuracy": r["accuracy"], "mean_zero_ratio": r["mean_zero_ratio"],
                          "hardware_accuracy_1b_3b_adc": r["hardware_accuracy_1b_3b_adc"],
                          "hardware_accuracy_by_rows": r["hardware_accuracy_by_rows"],
                          "selected_epoch": r["selected_epoch"], "layers": json.dumps(r["layers"])}
        for run_name in ("adc_finetuned", "adc_finetuned_signed"):
            for key, value in r.get(run_name, {}).items():
                groups[method][f"{run_name}_{key}"] = value
        for key, value in r["adc_study"].items():
            groups[method][f"adc_study_{key}"] = value
    write_h5(a.out / "results.h5", groups, provenance(cfg, a.seed))
    plot(out, a.out / "zero_ratios")
    plot_adc_study(out, a.out / "adc_study")
    plot_adc_paths(out, a.out / "adc_paths")
    for method in ("l1", "bitslice"):
        r = out[method]
        zr = " ".join(f"{v:.3f}" for v in r["zero_ratio"].mean(axis=0)[::-1])
        bits = r["adc_bits"].max(axis=0)[::-1].tolist()  # (slices MSB first, coverages)
        print(f"{method:>9}: acc {100 * r['accuracy']:.2f}%  zero ratio MSB..LSB [{zr}] "
              f"mean {r['mean_zero_ratio']:.3f}  ADC bits MSB..LSB at max/99.9/99%: "
              f"{bits}  hardware 1b/3b ADC acc {100 * r['hardware_accuracy_1b_3b_adc']:.2f}%")
    where = ("the test split (the reference code's rule)" if a.validation is None
             else f"{int(out['n_validation'])} held-out validation images (--validation {a.validation:g})")
    print(f"fine-tuning epoch selected (accuracy + mean zero ratio) on {where}: "
          + ", ".join(f"{m} {out[m]['selected_epoch']}" for m in ("l1", "bitslice")))
    for method in ("l1", "bitslice"):
        accs = ", ".join(f"{r} rows {100 * v:.1f}%" for r, v in
                         zip(a.adc_rows, out[method]["hardware_accuracy_by_rows"], strict=True))
        print(f"{method:>9}: hardware accuracy with 1-bit MSB / 3-bit ADCs: {accs}")
    if a.adc_finetune_epochs > 0:
        print(f"ADC-aware fine-tuning ({a.adc_finetune_epochs} epochs in hardware mode, lr {a.adc_lr}, last epoch):")
        print(f"{'method':>9} {'rows':>5} {'ideal ADC':>9} {'1b/3b before':>12} {'1b/3b after':>11} "
              f"{'ideal after':>11}  zero ratio MSB..LSB after (mean)")
        for method in ("l1", "bitslice"):
            r, ft = out[method], out[method]["adc_finetuned"]
            for k, rows in enumerate(a.adc_rows):
                zr = " ".join(f"{v:.3f}" for v in ft["zero_ratio"][k].mean(axis=0)[::-1])
                print(f"{method:>9} {rows:>5} {100 * r['accuracy']:>8.2f}% "
                      f"{100 * r['hardware_accuracy_by_rows'][k]:>11.2f}% "
                      f"{100 * ft['hardware_accuracy_by_rows'][k]:>10.2f}% "
                      f"{100 * ft['quantized_accuracy_by_rows'][k]:>10.2f}%  [{zr}] ({ft['mean_zero_ratio'][k]:.3f})")
    print(f"ADC study at {a.rows} rows (1-bit MSB / 3-bit ADCs, before ADC-aware fine-tuning; "
          f"energy and area: {TECH}):")
    for method in ("l1", "bitslice"):
        st, layers = out[method]["adc_study"], out[method]["layers"]
        alone = ", ".join(f"{n} {100 * v:.2f}%" for n, v in zip(layers, st["attribution_layer_accuracy"], strict=True))
        slices = ", ".join(f"{n} [{' '.join(f'{100 * v:.2f}' for v in row[::-1])}]"
                           for n, row in zip(layers, st["attribution_slice_accuracy"], strict=True))
        print(f"{method:>9}: only one layer's ADCs lossy: {alone}; only one slice (MSB..LSB): {slices}")
        for key, label in PLANS:
            bits = ", ".join(f"{n} {row[::-1].tolist()}" for n, row in zip(layers, st[f"{key}_bits"], strict=True))
            print(f"{'':>9}  {label} plan (selected on the training set, <= {a.adc_max_loss:g} points): ADC bits "
                  f"MSB..LSB {bits} (+{st[f'{key}_extra_bits']} bits"
                  f"{'' if st[f'{key}_met_on_train'] else ', target not met on train'}): test "
                  f"{100 * st[f'{key}_test_accuracy']:.2f}% (ideal {100 * st['attribution_ideal_accuracy']:.2f}%), "
                  f"energy {1e9 * st[f'energy_{key}']:.2f} nJ")
        kinds = ("1b3b", "plan", "energy_plan", "ideal")
        nj = [" / ".join(f"{1e9 * st[f'{key}_{k}']:.2f}" for k in kinds) for key in ("energy", "adc_energy")]
        area = " / ".join(f"{st[f'area_mm2_{k}']:.4f}" for k in kinds)
        print(f"{'':>9}  1b/3b / fewest-bits / least-energy / ideal ADCs: energy per inference {nj[0]} nJ "
              f"(ADCs {nj[1]} nJ), area {area} mm2")
        after = ""
        if "adc_finetuned_signed" in out[method]:
            signed_ft = out[method]["adc_finetuned_signed"]["hardware_accuracy_by_rows"][0]
            unsigned_ft = out[method]["adc_finetuned"]["hardware_accuracy_by_rows"][a.adc_rows.index(a.rows)]
            after = f", {100 * signed_ft:.2f}% after ADC-aware fine-tuning with them (1b/3b: {100 * unsigned_ft:.2f}%)"
        print(f"{'':>9}  signed 2b/4b ADCs (one per differential pair, same codes per sign): test "
              f"{100 * st['signed_test_accuracy']:.2f}%{after}; energy {1e9 * st['energy_signed']:.2f} nJ "
              f"(ADCs {1e9 * st['adc_energy_signed']:.2f} nJ), area {st['area_mm2_signed']:.4f} mm2")
    print(f"float accuracy {100 * out['float_accuracy']:.2f}%; "
          f"zero-ratio gain {out['zero_ratio_gain']:.2f}x; "
          f"non-zero reduction {out['nonzero_ratio_reduction']:.2f}x; accuracy loss "
          f"{out['accuracy_loss_points']:.2f} points; 1b/3b ADC cost {out['adc_cost_points']:.2f} points"
          + (f", {out['adc_cost_points_after_finetune']:.2f} after ADC-aware fine-tuning "
             f"({out['signed_adc_cost_points_after_finetune']:.2f} with signed 2b/4b ADCs)"
             if "adc_cost_points_after_finetune" in out else "")
          + f" ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
