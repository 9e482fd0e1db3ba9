"""Benchmark of the torch bridge on CPU.

1. ``"hardware"`` evaluation of the digits test set (451 images) with LeNet-5 at the default
   crossbar (Numba engine): seconds per pass.
2. One SGD step in ``"noisy"`` mode vs one in ``"float"`` mode (forward + backward + update),
   as a ratio, for LeNet-5 on digits (batch 64) and ResNet-20 on CIFAR-shaped random data
   (batch ``--batch``); medians of ``--repeats`` steps each, taken in 5 interleaved rounds so
   that a shared machine's drifts cancel in the ratio.
   Also the noise draw alone (:func:`mapping.nn.device_noise.weight_perturbation` of all LeNet-5
   layers) with the CPU kernel's random streams vs a torch generator, and the kernel's random
   numbers (:mod:`crossbar._rng`) in ns per normal / uniform.
   Also the activation quantizer's forward + backward on a 1M-element activation (ResNet-20's
   first stage, batch 64): this package's node (one Numba pass on CPU) vs the round / clamp /
   multiply composition and torch's ``fake_quantize_per_tensor_affine`` (the same values).
3. One ``"hardware"``-mode SGD step of LeNet-5 with 1-bit/3-bit ADCs, with the ADC-aware gradient
   (``hardware_grad="adc"``) vs the straight-through one, as a ratio.
4. The first ``"hardware"``-mode forward of ResNet-20 (batch 16, CIFAR-shaped random data, 6-bit
   ADCs), which programs every layer, with calibrated ADCs (each layer calibrates on its input,
   :func:`crossbar.calibrate_adc`) vs the max range, as a ratio.

Denormal floats flush to zero during the run (``torch.set_flush_denormal(True)``): without it,
ResNet-20 steps on random data slow down up to 30x on x86 CPUs as denormals appear.

Run: ``python -m experiments.bench_bridge``.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch
from torch import nn

from crossbar import CrossbarConfig, NoiseConfig, _rng
from experiments._common import interleaved_medians, median_time
from mapping.data import load_digits
from mapping.nn import convert, crossbar_layers, set_hardware_grad, set_mode
from mapping.nn import device_noise as dn
from mapping.nn import functional as xf
from mapping.nn.models import lenet5, resnet20
from mapping.nn.train import evaluate

NOISE = NoiseConfig(physical_programming=True, thermal=True, shot=True, rtn=True, read_sigma=0.02)


def sgd_step(model: nn.Module, mode: str, x: torch.Tensor, y: torch.Tensor):
    """A closure doing one SGD step of ``model`` in ``mode``."""
    set_mode(model, mode)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _first_hardware_forward(cfg: CrossbarConfig, x: torch.Tensor):
    """A closure converting ResNet-20 to ``cfg`` and running one ``"hardware"`` forward of ``x``:
    every layer programs its matrix and, with ``adc_range="calibrated"``, calibrates its ADCs on
    its input (:func:`crossbar.calibrate_adc`)."""
    torch.manual_seed(0)
    net = set_mode(convert(resnet20(), cfg), "hardware")

    def forward():
        with torch.no_grad():
            copy.deepcopy(net)(x)  # a fresh copy: nothing programmed yet

    return forward


def step_times(models: dict, x: torch.Tensor, y: torch.Tensor, repeats: int) -> dict:
    """Median step time [s] per ``models[name] = (model, mode)``, interleaved
    (:func:`experiments._common.interleaved_medians`)."""
    return interleaved_medians({name: sgd_step(m, mode, x, y) for name, (m, mode) in models.items()},
                               max(1, repeats // 5))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=64, help="ResNet-20 batch size")
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args(argv)
    torch.set_flush_denormal(True)  # processor-wide state: restored before returning
    try:
        return _run(a)
    finally:
        torch.set_flush_denormal(False)


def _run(a) -> int:
    torch.manual_seed(0)
    data = load_digits()
    cfg = CrossbarConfig(noise=NOISE)
    net = convert(lenet5(1, 8), cfg)
    t_hw = median_time(lambda: evaluate(net, data.x_test, data.y_test, mode="hardware"), a.repeats)
    print(f"LeNet-5 hardware-mode evaluation of the digits test set ({len(data.x_test)} images): "
          f"{t_hw:.3f} s")
    xb = torch.as_tensor(data.x_train[:64])
    yb = torch.as_tensor(data.y_train[:64])
    t = step_times({"float": (net, "float"), "noisy": (copy.deepcopy(net), "noisy")}, xb, yb, a.repeats)
    print(f"LeNet-5 digits batch 64: float step {1e3 * t['float']:.2f} ms, noisy step {1e3 * t['noisy']:.2f} ms, "
          f"ratio {t['noisy'] / t['float']:.2f}")
    qs = [xf.quantize_weight_ste(layer.weight.detach(), cfg.weight_bits)[0] for _, layer in crossbar_layers(net)]
    streams, gen = dn.noise_streams(np.random.SeedSequence(0)), torch.Generator().manual_seed(0)
    t = interleaved_medians({"kernel": lambda: [dn.weight_perturbation(q, cfg, streams) for q in qs],
                             "torch": lambda: [dn.weight_perturbation(q, cfg, gen) for q in qs]},
                            max(1, a.repeats // 5))
    state, n = _rng.seed_streams(np.random.SeedSequence(0), 1)[0], 1_000_000
    r = interleaved_medians({"normal": lambda: _rng.draw(state, n, True),
                             "uniform": lambda: _rng.draw(state, n, False)}, 1)
    print(f"LeNet-5 noise draw of all {len(qs)} layers: {1e3 * t['kernel']:.2f} ms (CPU kernel) vs "
          f"{1e3 * t['torch']:.2f} ms (torch); kernel random numbers {1e9 * r['normal'] / n:.2f} ns per normal, "
          f"{1e9 * r['uniform'] / n:.2f} ns per uniform")
    act = torch.rand(64, 16, 32, 32, requires_grad=True)
    grad = torch.randn_like(act)
    ucfg = CrossbarConfig()

    def composition():
        q, delta = xf.quantize_input_ste(act, ucfg)
        (q * delta).backward(grad)

    def torch_op():
        delta = 2.0 ** (xf.exponent_of(act) - ucfg.input_bits)
        torch.fake_quantize_per_tensor_affine(act, delta, 0, ucfg.x_min, ucfg.x_max).backward(grad)

    t = interleaved_medians({"node": lambda: xf.fake_quantize_input_ste(act, ucfg).backward(grad),
                             "composition": composition, "torch_op": torch_op}, max(1, a.repeats // 5))
    print(f"Activation quantizer, forward + backward of 64x16x32x32: {1e3 * t['node']:.2f} ms (one node) vs "
          f"{1e3 * t['composition']:.2f} ms (round/clamp/multiply) vs {1e3 * t['torch_op']:.2f} ms "
          f"(torch.fake_quantize_per_tensor_affine)")
    lossy = convert(lenet5(1, 8), CrossbarConfig(weight_bits=9, adc_bits=(3, 3, 3, 1), adc_range=(7.0, 7.0, 7.0, 1.0)))
    t = step_times({"ste": (set_hardware_grad(lossy, "ste"), "hardware"),
                    "adc": (set_hardware_grad(copy.deepcopy(lossy), "adc"), "hardware")}, xb, yb, a.repeats)
    print(f"LeNet-5 digits batch 64, hardware mode with 1-bit/3-bit ADCs: step {1e3 * t['ste']:.1f} ms with the "
          f"straight-through gradient, {1e3 * t['adc']:.1f} ms with the ADC-aware one, ratio {t['adc'] / t['ste']:.2f}")
    if not a.smoke:
        rn = convert(resnet20(), cfg.replace(signed_inputs=False))
        x = torch.rand(a.batch, 3, 32, 32)
        y = torch.randint(0, 10, (a.batch,))
        t = step_times({"float": (rn, "float"), "noisy": (copy.deepcopy(rn), "noisy")}, x, y, a.repeats)
        print(f"ResNet-20 CIFAR-shaped batch {a.batch}: float step {1e3 * t['float']:.1f} ms, noisy step "
              f"{1e3 * t['noisy']:.1f} ms, ratio {t['noisy'] / t['float']:.2f}")
        t = interleaved_medians({r: _first_hardware_forward(CrossbarConfig(adc_bits=6, adc_range=r), x[:16])
                                 for r in ("max", "calibrated")}, 1)
        print(f"ResNet-20 CIFAR-shaped batch 16, first hardware-mode forward (programs every layer): "
              f"{t['max']:.2f} s over the max range, {t['calibrated']:.2f} s with calibrated ADCs, "
              f"ratio {t['calibrated'] / t['max']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
