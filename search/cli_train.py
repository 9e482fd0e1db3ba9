"""``xbarsim train CONFIG.toml``: train a network for a target crossbar and measure it (users' job 2).

What it computes, stage by stage (every stage resumes from the output folder):

1. Data: ``[data]`` through :func:`mapping.data.load_dataset` (the digits split is seeded by ``seed``).
   With ``validation = f`` both trainings see only the rest of the training split, and their
   per-epoch accuracies are measured on the held-out fraction ``f`` of each class
   (:meth:`mapping.data.Dataset.split_validation`, seeded by ``seed``); the test split is used
   only by the measurements of stage 5.
2. Float model: ``[model] name`` initialized under ``torch.manual_seed(seed)`` and trained for
   ``[pretrain] epochs`` of float SGD (:func:`mapping.nn.train.fit`, checkpoint
   ``pretrain.ckpt.pt``), or loaded from ``[model] weights`` (a float state dict, e.g. another
   job's ``float.pt``, so that one pretrained model serves many targets). Saved as ``float.pt``.
3. Conversion: every Linear/Conv2d runs on the ``[crossbar]`` design (:func:`mapping.nn.convert`,
   ``seed``). A ``[layers."NAME"]`` table changes one layer: its ``CrossbarConfig`` fields replace
   ``[crossbar]``'s (a ``noise`` table replaces single noise fields), ``float = true`` keeps the layer
   digital, and ``noise_scale`` multiplies the noise that training injects there (ReSNA trains
   the FC layers with less; :func:`mapping.nn.vote.set_noise_scale`). Layer names are
   ``model.named_modules()`` names; a wrong one is an error that lists them.
4. Fine-tuning: ``[finetune]`` (:class:`mapping.nn.train.TrainConfig` fields; ``mode = "noisy"`` by
   default: fresh device noise every forward pass, the noise-free float weights are the master
   copy; ``"hardware"`` trains through the exact crossbar, ``"quantized"`` is the no-noise
   ablation) from the float model, checkpoint ``finetune.ckpt.pt``; ``vote = true`` first replaces
   the last layer by a 3-copy majority vote (:func:`mapping.nn.vote.add_majority_vote`).
   ``prune = t`` zeroes every weight with ``|w| < t`` first and keeps it zero (fixed mask,
   :func:`mapping.nn.bitslice.prune`); ``l1 = "bitslice"`` adds the bit-slice L1 term
   (:func:`mapping.nn.bitslice.bitslice_l1`, alpha ``l1_alpha``, default 0.5, over the target's
   ``weight_bits - 1`` magnitude bits in ``cell_bits`` slices) and ``l1 = "plain"`` plain L1
   (default alpha 1.0), as the bit-slice sparsity reference does (not with ``weight_clip_sigma``: the
   clip, recomputed after every step, would chase the shrinking weights down to zero). The
   converted model's state dict is saved as ``model.pt`` (:func:`load_trained` rebuilds it): the
   last epoch's weights, or with ``select_best = true`` (needs ``[data] validation``) those of the
   epoch with the best validation accuracy (:attr:`mapping.nn.train.TrainConfig.select_best`).
5. Measurement on the test split, of the converted model before fine-tuning (the float weights)
   and after, in four modes: ``float``; ``quantized`` (fixed point only); ``hardware`` with noise
   off (the same designs with ``NoiseConfig()``: what bit slicing and the ADCs cost); and
   ``hardware`` on the target, over ``[evaluate] n_repeats`` independent devices (repeat ``r``
   draws new programming and read noise from ``[evaluate.seed, r]``, the same draws before and
   after, so the two are paired). From these: the noise loss ``L = noise-free hardware -
   hardware`` before fine-tuning, and the fraction of it that fine-tuning recovers,
   ``(hardware after - hardware before) / L`` (reported when ``L > 0``). For the fine-tuned model
   also each layer's per-slice zero ratio and the ADC bits each slice needs to cover the max /
   99.9 % / 99 % of its column sums on the test inputs (:func:`mapping.nn.bitslice.column_sum_report`).

Grid: with a ``[grid]`` table (``CrossbarConfig`` field -> list of values, e.g. ``cell_bits = [2, 4]``,
``temperature = [300.0, 400.0]``) the job runs once per combination (:func:`run_train_grid`): the
float model is trained once in the output folder, and each target, ``[crossbar]`` with the grid's
values (``[layers]`` changes applied on top), is the single-target job above in the subfolder
``output/FIELD=VALUE,...``, started from ``output/float.pt``. A summary table (hardware accuracy
before and after, recovered fraction) goes to ``output/summary.json``.

Resuming: ``job.json`` in the output folder records the settings each finished stage was made
with. A later run with other settings for a stage that exists is refused (the message names what
changed): use another output folder, or delete it. Raising ``epochs`` is allowed and continues
training from the checkpoint, exactly as an uninterrupted longer run (shuffling and noise depend
only on ``(seed, epoch)``); fewer epochs than a checkpoint holds is an error. Measurements are kept
in ``report.json`` with the settings they were made with and repeated only when those changed.

The config file format and its checks: :mod:`search.train_config`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from crossbar.config import NoiseConfig
from crossbar.errors import ConfigError
from search.cli import subcommand
from search.train_config import MODES, SHOWN_LOSS, TrainJob, load_train_job

__all__ = ["MODES", "TrainJob", "grid_table", "load_train_job", "load_trained", "report_table", "run_train_grid",
           "run_train_job"]


# ---- stage keys: what a finished stage depends on --------------------------------------------


def _without_epochs(cfg) -> dict:
    """A ``TrainConfig``'s stage key: no ``epochs``, and no ``select_best`` while it is off (keys
    recorded before it existed stay valid)."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k != "epochs" and (k, v) != ("select_best", False)}


def _stage_keys(job: TrainJob) -> dict[str, dict]:
    """Settings each stage depends on; ``epochs`` is left out of a stage's own key (raising it
    continues training) but is part of every later stage's."""
    if job.weights is not None:
        if not job.weights.is_file():
            raise ConfigError(f"model.weights {str(job.weights)!r} does not exist.")
        start = {"weights_sha256": hashlib.sha256(job.weights.read_bytes()).hexdigest()}
    else:
        start = {"pretrain": _without_epochs(job.pretrain)}
    pre = {"seed": job.seed, "data": job.data, "model": job.model, **start}
    done_pre = {**pre, "pretrain_epochs": job.pretrain.epochs if job.pretrain is not None else None}
    target = {"crossbar": job.crossbar.to_dict(),
              "layers": {k: (v.to_dict() if v is not None else None) for k, v in sorted(job.overrides.items())}}
    ft = {**done_pre, **target, "noise_scales": job.noise_scales, "vote": job.vote, "prune": job.prune,
          "l1": job.l1, "l1_alpha": job.l1_alpha,
          "finetune": _without_epochs(job.finetune)}
    measure = {"n_repeats": job.n_repeats, "seed": job.eval_seed, "batch_size": job.eval_batch}
    return {"pretrain": pre, "finetune": ft,
            "before": {**done_pre, **target, **measure},
            "after": {**ft, "finetune_epochs": job.finetune.epochs, **measure}}


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _check_stage(out: Path, stage: str, recorded: dict | None, key: dict) -> None:
    if recorded is None or recorded == key:
        return
    a, b = _flat(json.loads(json.dumps(recorded))), _flat(json.loads(json.dumps(key)))
    changed = [f"{k}: {a.get(k, '(unset)')!r} -> {b.get(k, '(unset)')!r}" for k in sorted(set(a) | set(b))
               if a.get(k, "(unset)") != b.get(k, "(unset)")]
    raise ConfigError(f"train output {str(out)!r} holds a {stage} stage made with other settings "
                      f"({'; '.join(changed[:4])}{'; ...' if len(changed) > 4 else ''}); nothing was changed. "
                      "Use another output folder, or delete it to start over.")


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    tmp.replace(path)


def _checkpoint_epochs(path: Path) -> int:
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"]) if path.exists() else 0


def _train(model, data, cfg, ckpt: Path, what: str, *, progress: bool, regularizer=None):
    from mapping.nn.train import fit

    done = _checkpoint_epochs(ckpt)
    if done > cfg.epochs:
        raise ConfigError(f"{ckpt} holds {done} epochs of {what}, more than {what}.epochs = {cfg.epochs}; raise "
                          f"epochs to at least {done}, or use another output folder.")
    return fit(model, data, cfg, checkpoint=ckpt, progress=progress, regularizer=regularizer)


# ---- the stages -------------------------------------------------------------------------------


def _data(job: TrainJob):
    from mapping.data import load_dataset

    return load_dataset(job.data["dataset"], directory=job.data.get("directory"), limit=job.data.get("limit"),
                        seed=job.seed)


def _fit_data(job: TrainJob, data):
    """What both trainings see: ``data``, or with ``[data] validation`` its training split divided
    into training and validation (:meth:`mapping.data.Dataset.split_validation`, seed ``job.seed``;
    the per-epoch accuracies and ``select_best`` then use the validation part)."""
    v = job.data.get("validation")
    return data if v is None else data.split_validation(v, seed=job.seed)


def _float_model(job: TrainJob, data, *, progress: bool, fit_data=None):
    """Stage 2: ``(model, history)``: the float model, trained on ``fit_data`` (:func:`_fit_data`;
    resumed from its checkpoint) or loaded (history None); with ``fit_data=None`` only initialized."""
    import torch

    from mapping.nn.convert import load_state
    from mapping.nn.models import build_model

    c, h = data.sample_shape[0], data.sample_shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(job.seed)
        model = build_model(job.model, in_channels=c, image_size=h, n_classes=data.n_classes)
    model.to(job.device)  # initialized on the CPU: the same weights on every device
    if job.weights is not None:
        try:
            load_state(model, job.weights)
        except (RuntimeError, KeyError, OSError) as err:
            raise ConfigError(f"model.weights {str(job.weights)!r} is not a float state dict of {job.model} for "
                              f"{data.name} ({str(err).splitlines()[0]}).") from err
        return model, None
    hist = _train(model, fit_data, job.pretrain, job.output / "pretrain.ckpt.pt", "pretrain",
                  progress=progress) if fit_data is not None else None
    return model, hist


def _converted(job: TrainJob, float_model, *, fine_tuned: bool):
    """Stage 3: the converted model (with the vote, for the fine-tuned one)."""
    from mapping.nn.convert import convert, crossbar_layers
    from mapping.nn.vote import add_majority_vote, set_noise_scale

    xnet = convert(float_model, job.crossbar, overrides=job.overrides, seed=job.seed)
    if fine_tuned and job.vote:
        names = [n for n, _ in crossbar_layers(xnet)]
        if not names:
            raise ConfigError("finetune.vote needs a crossbar layer to copy; every layer is float.")
        add_majority_vote(xnet, names[-1])
    for name, s in job.noise_scales.items():  # after the vote: its copies take the scale too
        set_noise_scale(xnet, s, names=[name])
    return xnet


def load_trained(job: TrainJob | str | Path):
    """The fine-tuned converted model of a finished ``xbarsim train`` job (a :class:`TrainJob`
    or its config path), loaded from ``model.pt`` (``torch.load(weights_only=True)``).

    Raises:
        ConfigError: The job has no finished fine-tuning in its output folder.
    """
    from mapping.nn.convert import load_state

    job = job if isinstance(job, TrainJob) else load_train_job(job)
    path = job.output / "model.pt"
    recorded = _read_json(job.output / "job.json", _RESTART).get("finetune")
    if not path.exists() or recorded is None:
        raise ConfigError(f"{path} does not exist: run `xbarsim train` on this config first.")
    _check_stage(job.output, "finetune", recorded, _stage_keys(job)["finetune"])
    data = _data(job)
    model, _ = _float_model(job, data, progress=False)
    return load_state(_converted(job, model, fine_tuned=True), path)


def _read_json(path: Path, remedy: str) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is damaged ({err}); {remedy}.") from err


_RESTART = "delete the output folder to start over"
_REMEASURE = "delete it (the measurements are made again)"


def _regularizer(job: TrainJob):
    from mapping.nn.bitslice import bitslice_l1, plain_l1

    if job.l1 == "bitslice":
        bits, cell = job.crossbar.weight_bits - 1, job.crossbar.cell_bits
        return lambda m: bitslice_l1(m, alpha=job.l1_alpha, magnitude_bits=bits, cell_bits=cell)
    if job.l1 == "plain":
        return lambda m: plain_l1(m, alpha=job.l1_alpha)
    return None


def _measure(job: TrainJob, model, data) -> dict[str, dict]:
    """Stage 5 for one model: accuracy in every mode of :data:`MODES` (fractions)."""
    from mapping.nn.convert import crossbar_layers, reconfigure
    from mapping.nn.train import evaluate

    x, y = data.x_test, data.y_test
    kw = dict(seed=job.eval_seed, batch_size=job.eval_batch)
    quiet = reconfigure(model, {n: dataclasses.replace(layer.xbar.config, noise=NoiseConfig())
                                for n, layer in crossbar_layers(model)})
    runs = {"float": evaluate(model, x, y, mode="float", **kw),
            "quantized": evaluate(model, x, y, mode="quantized", **kw),
            "hardware_noise_free": evaluate(quiet, x, y, mode="hardware", **kw),
            "hardware": evaluate(model, x, y, mode="hardware", n_repeats=job.n_repeats, **kw)}
    return {m: {"mean": r.mean, "std": r.std, "accuracies": list(r.accuracies)} for m, r in runs.items()}


def _pretrained(job: TrainJob, keys: dict, stages: tuple[str, ...], *, progress: bool):
    """Check the recorded ``stages`` of the output folder, then run the pretraining stage:
    ``(data, what the trainings see (:func:`_fit_data`), float model, its history or None)``;
    ``float.pt`` is written."""
    from mapping.nn.convert import save_state

    out = job.output
    out.mkdir(parents=True, exist_ok=True)
    recorded = _read_json(out / "job.json", _RESTART)
    for stage in stages:
        if (out / f"{stage}.ckpt.pt").exists() and stage not in recorded:
            raise ConfigError(f"train output {str(out)!r} holds {stage}.ckpt.pt but job.json has no record of its "
                              f"settings; {_RESTART}.")
        _check_stage(out, stage, recorded.get(stage), keys[stage])
    data = _data(job)
    _write_json(out / "job.json", {**recorded, "pretrain": keys["pretrain"]})
    fit_data = _fit_data(job, data)
    float_model, pre_hist = _float_model(job, data, progress=progress, fit_data=fit_data)
    save_state(float_model, out / "float.pt")
    return data, fit_data, float_model, pre_hist


def run_train_job(job: TrainJob, *, progress: bool = True) -> dict:
    """Run (or resume) every stage of ``job``; returns the report (also in ``report.json``):
    ``before``/``after`` ``{mode: {mean, std, accuracies}}`` for the modes of :data:`MODES`,
    ``noise_loss`` and ``recovered_fraction`` (None when the loss is not positive), ``history``
    (per-epoch loss and test accuracy of both trainings: validation accuracy with ``[data]
    validation``, whose size is ``n_validation``), ``selected_epoch`` (0-based, with ``finetune.select_best``,
    else None) and ``layers`` (the converted layers and their designs)."""
    from mapping.nn.bitslice import column_sum_report, prune, slice_zero_ratios
    from mapping.nn.convert import crossbar_layers, save_state

    if job.grid:
        raise ConfigError("run_train_job: this job has a [grid]; run it with run_train_grid.")
    out = job.output
    keys = _stage_keys(job)
    data, train_data, float_model, pre_hist = _pretrained(job, keys, ("pretrain", "finetune"), progress=progress)
    report = _read_json(out / "report.json", _REMEASURE)
    say = print if progress else (lambda *_a, **_k: None)
    if report.get("before_key") != keys["before"]:
        say(f"measuring the converted model before fine-tuning ({job.n_repeats} devices)", flush=True)
        report.update(before=_measure(job, _converted(job, float_model, fine_tuned=False), data),
                      before_key=keys["before"])
        _write_json(out / "report.json", report)
    xnet = _converted(job, float_model, fine_tuned=True)
    if job.prune is not None:
        prune(xnet, threshold=job.prune)  # the same mask on a resume: the float weights are the same
    _write_json(out / "job.json", {"pretrain": keys["pretrain"], "finetune": keys["finetune"]})
    hist = _train(xnet, train_data, job.finetune, out / "finetune.ckpt.pt", "finetune",
                  progress=progress, regularizer=_regularizer(job))
    save_state(xnet, out / "model.pt")
    if report.get("after_key") != keys["after"]:
        say(f"measuring the fine-tuned model ({job.n_repeats} devices) and its slices", flush=True)
        zeros = slice_zero_ratios(xnet)
        sums = column_sum_report(xnet, data.x_test, batch_size=job.eval_batch)
        report.update(after=_measure(job, xnet, data), after_key=keys["after"],
                      slices={"layers": list(zeros.layers), "zero_ratio": zeros.zero_ratio.tolist(),
                              "mean_zero_ratio": zeros.mean_zero_ratio, "coverages": list(sums.coverages),
                              "adc_bits": sums.adc_bits.tolist()})
    before, after = report["before"], report["after"]
    loss = before["hardware_noise_free"]["mean"] - before["hardware"]["mean"]
    report.update(noise_loss=loss,
                  recovered_fraction=(after["hardware"]["mean"] - before["hardware"]["mean"]) / loss if loss > 0
                  else None,
                  history={"pretrain": dataclasses.asdict(pre_hist) if pre_hist is not None else None,
                           "finetune": dataclasses.asdict(hist)},
                  layers={n: layer.xbar.config.to_dict() for n, layer in crossbar_layers(xnet)},
                  dataset=data.name, n_test=len(data.y_test), model=job.model,
                  n_validation=train_data.n_test if train_data is not data else None,
                  selected_epoch=hist.best_epoch if job.finetune.select_best else None)
    _write_json(out / "report.json", report)
    return report


def run_train_grid(job: TrainJob, *, progress: bool = True) -> list[dict]:
    """Run (or resume) a job with a ``[grid]``: the float model once in the output folder, then for
    each target the single-target job (:func:`run_train_job`) in ``output/NAME`` started from
    ``output/float.pt`` (its ``[model] weights``). Returns one summary row per target (also in
    ``output/summary.json``): ``target`` (the grid values), ``name`` and the target report's
    ``before``/``after`` hardware accuracy, noise-free hardware accuracy, ``noise_loss`` and
    ``recovered_fraction``."""
    if not job.grid:
        raise ConfigError("run_train_grid: this job has no [grid]; run it with run_train_job.")
    keys = _stage_keys(job)
    _pretrained(job, keys, ("pretrain",), progress=progress)
    rows = []
    for name, point, crossbar, overrides, scales in job.grid:
        if progress:
            print(f"target {name}", flush=True)
        target = dataclasses.replace(job, output=job.output / name, crossbar=crossbar, overrides=overrides,
                                     noise_scales=scales, weights=job.output / "float.pt", pretrain=None, grid=())
        report = run_train_job(target, progress=progress)
        rows.append({"name": name, "target": point,
                     **{f"{part}_{m}": report[part][m] for part in ("before", "after")
                        for m in ("hardware_noise_free", "hardware")},
                     "noise_loss": report["noise_loss"], "recovered_fraction": report["recovered_fraction"]})
    _write_json(job.output / "summary.json", {"rows": rows})
    return rows


def grid_table(rows: list[dict], *, n_repeats: int) -> str:
    """The grid summary as text: one line per target; the recovered fraction is shown where noise
    costs at least :data:`SHOWN_LOSS` points (the fraction of a smaller loss is mostly noise)."""
    width = max(len("target"), *(len(r["name"]) for r in rows))
    lines = [f"{'target':<{width}}  {'noise off':>9}  {f'before ({n_repeats} devices)':>20}  {'after':>15}  "
             f"{'loss':>6}  {'recovered':>9}"]
    for r in rows:
        b, a, rec = r["before_hardware"], r["after_hardware"], r["recovered_fraction"]
        loss = 100 * r["noise_loss"]
        shown = f"{100 * rec:.0f} %" if rec is not None and loss >= SHOWN_LOSS else "-"
        lines.append(f"{r['name']:<{width}}  {100 * r['before_hardware_noise_free']['mean']:9.2f}  "
                     f"{100 * b['mean']:11.2f} +- {100 * b['std']:5.2f}  "
                     f"{100 * a['mean']:6.2f} +- {100 * a['std']:5.2f}  {loss:6.2f}  {shown:>9}")
    return "\n".join(lines)


def report_table(report: dict, *, n_repeats: int) -> str:
    """The report as text: accuracy per mode before and after fine-tuning, the loss and recovery."""
    names = {"float": "float", "quantized": "quantized (fixed point)",
             "hardware_noise_free": "hardware, noise off", "hardware": f"hardware ({n_repeats} devices)"}
    lines = [f"{report['model']} on {report['dataset']}: test accuracy [%] ({report['n_test']} images)",
             f"{'mode':<28}{'before fine-tuning':>22}{'after fine-tuning':>22}"]
    for m in MODES:
        cells = []
        for part in ("before", "after"):
            r = report[part][m]
            cells.append(f"{100 * r['mean']:.2f}" + (f" +- {100 * r['std']:.2f}" if m == "hardware" else ""))
        lines.append(f"{names[m]:<28}{cells[0]:>22}{cells[1]:>22}")
    if report.get("selected_epoch") is not None:
        acc = report["history"]["finetune"]["test_accuracy"]
        lines.append(f"after fine-tuning = its epoch {report['selected_epoch'] + 1} of {len(acc)}, the best on "
                     f"{report['n_validation']} validation images ({100 * acc[report['selected_epoch']]:.2f} %; "
                     f"last epoch {100 * acc[-1]:.2f} %)")
    rec, loss = report["recovered_fraction"], 100 * report["noise_loss"]
    lines.append(f"device noise costs the model before fine-tuning {loss:.2f} points"
                 + (f"; fine-tuning recovers {100 * rec:.0f} % of them" if rec is not None and loss >= SHOWN_LOSS
                    else ""))
    sl = report["slices"]
    lines.append(f"after fine-tuning, per layer and slice (least significant first; mean zero ratio "
                 f"{sl['mean_zero_ratio']:.3f}): zero ratio; ADC bits for "
                 + " / ".join("max" if c == 100 else f"{c:g} %" for c in sl["coverages"]) + " of the column sums")
    for name, zr, bits in zip(sl["layers"], sl["zero_ratio"], sl["adc_bits"], strict=True):
        per_cov = " / ".join(" ".join(str(b[k]) for b in bits) for k in range(len(sl["coverages"])))
        lines.append(f"  {name:<12} {' '.join(f'{z:.2f}' for z in zr)};  {per_cov}")
    return "\n".join(lines)


@subcommand
def _add_train(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a network for a target crossbar (noise-aware) and measure it",
                              description="Pretrain (or load) a float model, convert it to the target crossbar, "
                              "fine-tune it against the crossbar (noise-aware by default) and measure it before and "
                              "after, over independent devices. Resumable; see search.cli_train for the config.")
    p.add_argument("config", type=Path)
    p.add_argument("--no-progress", action="store_true")

    def run(args) -> int:
        job = load_train_job(args.config)
        if job.grid:
            rows = run_train_grid(job, progress=not args.no_progress)
            print(f"test accuracy [%] in hardware mode, before and after fine-tuning, per target "
                  f"({len(rows)} targets; reports in {job.output}/TARGET/report.json)")
            print(grid_table(rows, n_repeats=job.n_repeats))
            print(f"wrote {job.output / 'summary.json'}")
            return 0
        report = run_train_job(job, progress=not args.no_progress)
        print(report_table(report, n_repeats=job.n_repeats))
        print(f"wrote {job.output / 'model.pt'} (load_trained) and {job.output / 'report.json'}")
        return 0

    p.set_defaults(run=run)
