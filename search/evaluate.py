"""Objectives of the ReRAM design problem: the only place that wires mapping + crossbar for search.

For a crossbar design (a :class:`CrossbarConfig`) and a fidelity ``z`` in [0, 1]:

* **accuracy** (expensive, maximized): start from a float model pretrained on the task's data set,
  convert it to the design (with the task's device noise and calibrated ADCs), fine-tune it
  ``round(z * max_epochs)`` epochs in ``"noisy"`` mode (ReSNA-style noise-aware training), then
  evaluate it in ``"hardware"`` mode over ``n_repeats`` independent devices (mean accuracy) on the
  task's search split: the held-out validation part of the training split when the task has
  ``validation``, else the test split;
* **area** [mm^2], **energy** [J per inference] and **latency** [s per inference, pipelined]
  (cheap and exact): the cost model of the whole network under the design, computed, never
  modelled.

An evaluation's cost is its measured wall time (and the number of fine-tuning epochs), or with
``ReramTask(evaluation_cost="passes")`` its passes over data, ``1 + epochs``.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import math
import time
from dataclasses import dataclass, field

import numpy as np

from crossbar import CrossbarConfig, DesignSet, NoiseConfig, estimate_costs
from crossbar.errors import ConfigError
from crossbar.tech import load_technology
from mapping.data import is_fraction

#: PytorX/ReSNA physical noise (programming dg/3, thermal, shot, RTN).
PHYSICAL_NOISE = NoiseConfig(physical_programming=True, thermal=True, shot=True, rtn=True)
#: Objective names, in the order of the objective vector (all minimized in ``F``).
OBJECTIVES = ("neg_accuracy", "area_mm2", "energy_j", "latency_s")
#: Splits an accuracy can be measured on: the task's search split, or the test split.
SPLITS = ("search", "test")
#: What an evaluation can cost a search's budget (``ReramTask.evaluation_cost``).
EVALUATION_COSTS = ("seconds", "passes")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReramTask:
    """What an evaluation of a design means.

    Attributes:
        dataset: ``"digits"`` (embedded default) or ``"mnist"``/``"cifar10"`` with ``data_dir``.
        data_dir: Directory of the MNIST/CIFAR-10 files (None for digits).
        model: ``mapping.nn.models.build_model`` name (``"mlp"``, ``"lenet5"``, ...).
        pretrain_epochs: Float pretraining epochs.
        max_epochs: Noise-aware fine-tuning epochs at fidelity ``z = 1``.
        n_repeats: Independent devices per accuracy measurement.
        technology: Technology file name for the cost model.
        noise: Device noise of every design.
        adc_range: ADC full-scale policy of every design (``"calibrated"``: 99.9th percentile on
            the first batch after programming).
        lr: Fine-tuning learning rate.
        grad_clip: Fine-tuning clips the gradient's global 2-norm to this value (``None``: no
            clipping, the default, as in every stored search so far). ``1.0`` is what
            ``experiments/resna.py`` uses at 2-bit cells, where unclipped noisy training diverges; a
            diverging evaluation is recorded as failed (``TrainingDivergedError``), not as low accuracy.
        weight_clip_sigma: Fine-tuning clips every layer's weights at the power of two below this
            many standard deviations (:func:`mapping.nn.train.clip_weights`; ``None``: no clipping,
            the default, as in every stored search so far). ``2.0`` is the recipe with which
            ``experiments/resna.py`` recovers >= 95 % of the noise loss even at 2-bit cells.
        seed: Seed of pretraining (fine-tuning and devices use per-evaluation seeds).
        common_seed: Common random numbers: every evaluation of a search
            (:class:`search.tasks.ReramSearch`) fine-tunes and draws its devices with this seed
            instead of its own, so the accuracy becomes a function of the design and fidelity alone.
            A design evaluated twice gets the same accuracy (a search cannot keep the luckier of two
            draws), and designs are compared under the same draws, as a sweep's are (``None``, the
            default and what every stored search so far used: per-evaluation seeds).
        validation: Fraction of each class of the training split held out for the search
            (:meth:`mapping.data.Dataset.split_validation` with ``seed``): pretraining and fine-tuning
            see only the rest, and the search's accuracy is measured on the held-out part, so the test
            split plays no part in choosing designs; ``xbarsim rescore``
            (:func:`search.tasks.remeasurement`) then measures designs on the test split: the
            accuracy to report. ``None`` (the default, as in every stored search so far): pretraining
            and fine-tuning use the whole training split and the search measures on the test split,
            the split a front's accuracies are then quoted on (optimistic: the front selects on it).
        evaluation_cost: What an evaluation costs a search's budget (:class:`search.tasks.ReramSearch`):
            ``"seconds"`` (the default, as in every stored search so far), its measured wall time;
            ``"passes"``, ``1 + epochs``, the passes over data it makes (one per fine-tuning epoch
            and one for the measurement): the cost CF-MESMO predicts, the same on every machine, so
            a budget buys the same evaluations anywhere and a search does not depend on the
            machine's speed.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    model: str = "mlp"
    pretrain_epochs: int = 30
    max_epochs: int = 4
    n_repeats: int = 3
    technology: str = "isaac_ce_32nm"
    noise: NoiseConfig = field(default_factory=lambda: PHYSICAL_NOISE)
    adc_range: str = "calibrated"
    lr: float = 0.01
    grad_clip: float | None = None
    weight_clip_sigma: float | None = None
    seed: int = 0
    common_seed: int | None = None
    validation: float | None = None
    evaluation_cost: str = "seconds"

    def __post_init__(self) -> None:
        for name in ("pretrain_epochs", "max_epochs", "n_repeats"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "n_repeats" else 0):
                raise ConfigError(f"ReramTask.{name} must be a non-negative integer (n_repeats >= 1); "
                                  f"got {v!r}.")
        for name in ("grad_clip", "weight_clip_sigma"):
            g = getattr(self, name)
            if g is not None and (isinstance(g, bool) or not isinstance(g, int | float) or not math.isfinite(g)
                                  or g <= 0):
                raise ConfigError(f"ReramTask.{name} must be None or a finite number > 0; got {g!r}.")
        c = self.common_seed
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or c < 0):
            raise ConfigError(f"ReramTask.common_seed must be None or an integer >= 0; got {c!r}.")
        if self.validation is not None and not is_fraction(self.validation):
            raise ConfigError(f"ReramTask.validation must be None or a fraction in the open interval (0, 1); "
                              f"got {self.validation!r}.")
        if self.evaluation_cost not in EVALUATION_COSTS:
            raise ConfigError(f"ReramTask.evaluation_cost must be one of {list(EVALUATION_COSTS)}; "
                              f"got {self.evaluation_cost!r}.")

    def to_json(self) -> str:
        """Canonical JSON (stored in result files)."""
        d = dataclasses.asdict(self)
        for name in ("grad_clip", "weight_clip_sigma", "common_seed", "validation"):
            if d[name] is None:  # absent means None: tasks stored before the field existed still match
                del d[name]
        if d["evaluation_cost"] == "seconds":  # likewise: absent means measured seconds
            del d["evaluation_cost"]
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReramTask:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        d["noise"] = NoiseConfig(**d["noise"])
        return cls(**d)

    def design(self, config: CrossbarConfig) -> CrossbarConfig:
        """``config`` with this task's noise and ADC range policy."""
        return config.replace(noise=self.noise, adc_range=self.adc_range)


@functools.lru_cache(maxsize=2)
def _loaded(dataset: str, data_dir: str | None, seed: int, validation: float | None):
    """``(data, held)``: the data set, and its validation division (None without ``validation``),
    loaded once per process (a search's evaluations run many in each worker; loading digits
    took 10-15 ms of a 0.1 s evaluation, and a CIFAR-10 search would read 0.6 GB each time).
    Files changed on disk during a process are not seen again."""
    from mapping.data import load_dataset

    data = load_dataset(dataset, directory=data_dir, seed=seed)
    return data, (None if validation is None else data.split_validation(validation, seed=seed))


def _data(task: ReramTask, split: str = "search"):
    """The task's data: ``x_train``/``y_train`` what pretraining and fine-tuning see (the training
    split less the validation part when the task has ``validation``), ``x_test``/``y_test`` what
    the accuracy is measured on (``split``: ``"search"``, the validation part or else the test
    split; ``"test"``, the test split). The arrays are the caller's own copies of the process's
    cached ones (:func:`_loaded`)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)}; got {split!r}.")
    data, held = _loaded(task.dataset, task.data_dir, task.seed, task.validation)
    if held is not None:
        data = held if split == "search" else dataclasses.replace(held, x_test=data.x_test, y_test=data.y_test,
                                                                  name=data.name)
    return dataclasses.replace(data, **{k: getattr(data, k).copy() for k in ("x_train", "y_train", "x_test",
                                                                            "y_test")})


def _build(task: ReramTask, data):
    from mapping.nn.models import build_model

    c, h, _ = data.x_train.shape[1:]
    return build_model(task.model, in_channels=c, image_size=h, n_classes=data.n_classes)


def pretrain(task: ReramTask, *, progress: bool = False) -> bytes:
    """Train the task's float model; returns its ``state_dict`` serialized with ``torch.save``
    (bytes, so that it travels to worker processes and into result files)."""
    import torch

    from mapping.nn.train import TrainConfig, fit

    data = _data(task)
    with torch.random.fork_rng():  # seeded initialization without touching the caller's RNG
        torch.manual_seed(task.seed)
        model = _build(task, data)
        fit(model, data, TrainConfig(epochs=task.pretrain_epochs, lr=0.05, seed=task.seed), progress=progress)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def evaluate_accuracy(task_json: str, config_json: str, z: float, pretrained: bytes, seed: int, *,
                      split: str = "search") -> dict:
    """The expensive objective of one design at fidelity ``z`` (a picklable top-level function),
    measured on the task's search split (``split="search"``) or on the test split (``"test"``; the
    same when the task has no ``validation``).

    Returns:
        ``{"accuracy", "accuracy_std", "epochs", "seconds"}``.
    """
    import torch

    from mapping.nn import convert
    from mapping.nn.train import TrainConfig, evaluate, fit

    t0 = time.perf_counter()
    task = ReramTask.from_json(task_json)
    if not 0.0 <= z <= 1.0:
        raise ConfigError(f"evaluate_accuracy: fidelity z must be in [0, 1]; got {z!r}.")
    config = task.design(CrossbarConfig.from_json(config_json))
    data = _data(task, split)
    model = _build(task, data)
    model.load_state_dict(torch.load(io.BytesIO(pretrained), weights_only=True))
    xn = convert(model, config, seed=seed)
    epochs = int(round(z * task.max_epochs))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if epochs:
            fit(xn, data, TrainConfig(epochs=epochs, lr=task.lr, mode="noisy", grad_clip=task.grad_clip,
                                      weight_clip_sigma=task.weight_clip_sigma, seed=seed), progress=False)
        r = evaluate(xn, data.x_test, data.y_test, mode="hardware", n_repeats=task.n_repeats, seed=seed)
    return {"accuracy": r.mean, "accuracy_std": r.std, "epochs": epochs, "seconds": time.perf_counter() - t0}


@dataclass(frozen=True, eq=False)
class CostObjectives:
    """Exact cheap objectives of a task's network under many designs (vectorized).

    Attributes:
        task: The task. workload: The network's layer shapes. tech: The task's technology (loaded
            from ``task.technology`` when omitted).
    """

    task: ReramTask
    workload: object
    tech: object = None

    def __post_init__(self) -> None:
        if self.tech is None:  # loaded once: __call__ runs inside the acquisition's inner NSGA-II
            object.__setattr__(self, "tech", load_technology(self.task.technology))

    @staticmethod
    def for_task(task: ReramTask) -> CostObjectives:
        """Trace the task's network once."""
        from mapping.nn.specs import specs_from_torch
        from mapping.plan import network_workload

        data = _data(task)
        layers = specs_from_torch(_build(task, data), tuple(data.x_train.shape[1:]))
        return CostObjectives(task=task, workload=network_workload(layers))

    def __call__(self, configs: list[CrossbarConfig]) -> np.ndarray:
        """``(n, 3)``: area [mm^2], energy [J], latency [s] (pipelined) of each design."""
        out = estimate_costs(self.workload, DesignSet.from_configs([self.task.design(c) for c in configs]),
                             self.tech)
        return np.stack([out["area"] * 1e6, out["energy"], out["latency"]], axis=1)
