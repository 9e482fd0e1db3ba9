"""Bit-slice L1 (exact reference semantics), plain L1, pruning, reports; resumable fit; evaluate."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from crossbar import CrossbarConfig, NoiseConfig
from crossbar.errors import ConfigError, TrainingDivergedError
from mapping.data import load_digits
from mapping.nn import convert, crossbar_layers, set_mode
from mapping.nn import functional as xf
from mapping.nn.bitslice import (
    adc_bits_needed,
    apply_masks,
    bitslice_l1,
    bitslice_slices,
    plain_l1,
    prune,
    slice_zero_ratios,
)
from mapping.nn.models import mlp
from mapping.nn.train import TrainConfig, clip_weights, evaluate, fit


def test_bitslice_slices_reconstruct_and_clamp():
    w = torch.tensor([1.0, -0.75, 0.3, 0.0, 0.999])
    # s = 0, delta = 2**-8: x = round(|w| * 256) clamped to 255
    x = torch.clamp(torch.round(w.abs() * 256), max=255)
    b = bitslice_slices(w)
    assert len(b) == 4 and float(x[0]) == 255.0  # 256 would overflow the MSB slice
    np.testing.assert_array_equal(sum(bk * 4 ** (3 - k) for k, bk in enumerate(b)).numpy(), x.numpy())
    for bk in b:
        assert float(bk.min()) >= 0 and float(bk.max()) <= 3


def test_bitslice_l1_gradient_is_the_reference_formula(seed):
    torch.manual_seed(seed)
    lin = nn.Linear(30, 20, bias=False)
    with torch.no_grad():
        lin.weight[0, 0] = 0.9  # fixes the exponent: s = 0, delta = 2**-8
        lin.weight[:] = lin.weight.clamp(-0.9, 0.9)
    model = nn.Sequential(lin)
    bitslice_l1(model, alpha=1.0).backward()
    w = lin.weight.detach()
    b = bitslice_slices(w)
    coef = (1 / 64, 1 / 16, 1 / 4, 1.0)
    push = sum(c * (bk > 0).to(w.dtype) for c, bk in zip(coef, b, strict=True))
    want = torch.sign(w) * 256.0 * push / (4 * w.numel())
    torch.testing.assert_close(lin.weight.grad, want, rtol=1e-6, atol=1e-9)


def test_regularizer_values_by_hand():
    lin = nn.Linear(2, 1, bias=True)
    with torch.no_grad():
        lin.weight[:] = torch.tensor([[0.5, -0.25]])
        lin.bias[:] = torch.tensor([0.125])
    m = nn.Sequential(lin)
    np.testing.assert_allclose(float(plain_l1(m, alpha=3.0).detach()), 3.0 * 0.875 / 3, rtol=1e-7)
    # per tensor: weight s = -1, delta = 2**-9: x = 255 (clamped from 256) = (3,3,3,3), 128 = (2,0,0,0);
    # bias s = -3, delta = 2**-11: x = 255 (clamped) = (3,3,3,3)
    got = float(bitslice_l1(m, alpha=0.5).detach())
    np.testing.assert_allclose(got, 0.5 * (12 + 2 + 12) / (4 * 3), rtol=1e-7)


def test_prune_masks_weights_and_gradients():
    torch.manual_seed(0)
    m = mlp((8, 6, 3))
    with torch.no_grad():
        m[1].weight[0, :4] = 0.005
    masks = prune(m, threshold=0.01)
    assert float(masks["1.weight"][0, :4].sum()) == 0.0
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        m(torch.rand(4, 8)).square().sum().backward()
        opt.step()
    assert torch.all(m[1].weight[0, :4] == 0.0)


def test_apply_masks_keeps_pruned_weights_zero_on_a_deep_copy():
    """copy.deepcopy drops prune's gradient hooks; apply_masks restores the fixed mask."""
    torch.manual_seed(0)
    m = mlp((8, 6, 3))
    masks = prune(m, threshold=0.3)  # prunes most of the weights
    pruned = {n: masks[n] == 0 for n in masks}
    assert all(bool(v.any()) for v in pruned.values())
    x = torch.rand(16, 8, generator=torch.Generator().manual_seed(1))

    def train(model):
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(5):
            opt.zero_grad()
            (model(x).square().sum() + plain_l1(model, alpha=1.0)).backward()
            opt.step()
        return before

    free = copy.deepcopy(m)
    train(free)
    assert any(bool(free.get_parameter(n).detach()[pruned[n]].abs().gt(0).any()) for n in masks), \
        "without hooks the pruned weights must move (else this test checks nothing)"
    fixed = apply_masks(copy.deepcopy(m), masks)
    before = train(fixed)
    for n, p in fixed.named_parameters():
        assert torch.all(p.detach()[pruned[n]] == 0.0), n
        assert not torch.equal(p.detach()[~pruned[n]], before[n][~pruned[n]]), n


def test_apply_masks_rejects_unknown_names_and_wrong_shapes():
    m = mlp((4, 3, 2))
    with pytest.raises(ConfigError, match="'fc9.weight'.*not a parameter"):
        apply_masks(m, {"fc9.weight": torch.ones(3, 4)})
    with pytest.raises(ConfigError, match=r"'1.weight' has shape \(4, 3\).*\(3, 4\)"):
        apply_masks(m, {"1.weight": torch.ones(4, 3)})


def test_slice_zero_ratio_report_by_hand():
    lin = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        lin.weight[:] = torch.tensor([[0.5, 0.25, -0.0078125, 0.0]])
    xn = convert(nn.Sequential(lin), CrossbarConfig())
    # s = -1, delta = 2**-8: q = 127 (clamped 128), 64, -2, 0 -> base-4 digits (lsb first)
    # 127 = (3,3,3,1), 64 = (0,0,0,1), 2 = (2,0,0,0), 0 = (0,0,0,0)
    rep = slice_zero_ratios(xn)
    np.testing.assert_allclose(rep.zero_ratio[0], [0.5, 0.75, 0.75, 0.5])
    assert rep.mean_zero_ratio == pytest.approx(0.625)


@pytest.mark.parametrize(("values", "coverage", "bits"), [([0, 1, 1, 1], 100.0, 1), ([0, 7, 7, 8], 100.0, 4),
                                                         ([0, 7, 7, 8], 50.0, 3), ([0.0, 0.2], 100.0, 1)])
def test_adc_bits_needed(values, coverage, bits):
    assert adc_bits_needed(np.array(values, dtype=float), coverage) == bits
    # a signed ADC (differential_adc="subtract") covering the same magnitudes needs the sign bit too
    assert adc_bits_needed(np.array(values, dtype=float), coverage, signed=True) == bits + 1


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("clip", [None, 1.5], ids=["no-clip", "weight-clip"])
def test_fit_resume_equals_uninterrupted(tmp_path, digits, clip):
    small = type(digits)(x_train=digits.x_train[:200], y_train=digits.y_train[:200],
                         x_test=digits.x_test[:100], y_test=digits.y_test[:100], n_classes=10,
                         name="digits-small", source=digits.source)
    cfg = CrossbarConfig(noise=NoiseConfig(program_sigma=0.05))

    def run(epochs_first, ckpt):
        torch.manual_seed(0)
        model = convert(mlp((64, 16, 10)), cfg, seed=1)
        tc = TrainConfig(epochs=epochs_first, lr=0.05, batch_size=32, mode="noisy", seed=3, weight_clip_sigma=clip)
        fit(model, small, tc, checkpoint=ckpt, progress=False)
        return model, ckpt

    straight, _ = run(4, None)
    _, ckpt = run(2, tmp_path / "c.pt")
    torch.manual_seed(0)
    resumed = convert(mlp((64, 16, 10)), cfg, seed=1)
    hist = fit(resumed, small, TrainConfig(epochs=4, lr=0.05, batch_size=32, mode="noisy", seed=3,
                                           weight_clip_sigma=clip), checkpoint=ckpt, progress=False)
    assert len(hist.loss) == 4
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_select_best_keeps_the_best_validation_epoch_and_resumes(tmp_path, digits):
    """The model fit returns holds the weights the epoch with the highest per-epoch (validation)
    accuracy had (captured by the callback: the oracle), and a resumed run returns the same."""
    val = type(digits)(x_train=digits.x_train[:300], y_train=digits.y_train[:300], x_test=digits.x_test,
                       y_test=digits.y_test, n_classes=10, name="d", source="").split_validation(0.3, seed=1)
    cfg = CrossbarConfig(noise=NoiseConfig(program_sigma=0.3))  # noisy: accuracy goes up and down
    tc = TrainConfig(epochs=6, lr=0.2, batch_size=32, mode="noisy", seed=2, select_best=True)

    def fresh():
        torch.manual_seed(0)
        return convert(mlp((64, 16, 10)), cfg, seed=1)

    seen = []
    model = fresh()
    hist = fit(model, val, tc, progress=False,
               callback=lambda e, m, h: seen.append(copy.deepcopy(m.state_dict())))
    best = hist.best_epoch
    assert hist.test_accuracy[best] == max(hist.test_accuracy) and best not in (None, 5)  # not the last here
    assert all(a < hist.test_accuracy[best] for a in hist.test_accuracy[:best])
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, seen[best][k], rtol=0, atol=0)
    last = fresh()
    fit(last, val, dataclasses.replace(tc, select_best=False), progress=False)
    for k, v in last.state_dict().items():
        torch.testing.assert_close(v, seen[-1][k], rtol=0, atol=0)
    resumed = fresh()
    fit(resumed, val, dataclasses.replace(tc, epochs=best + 1), checkpoint=tmp_path / "c.pt", progress=False)
    fit(resumed, val, tc, checkpoint=tmp_path / "c.pt", progress=False)
    for k, v in resumed.state_dict().items():
        torch.testing.assert_close(v, seen[best][k], rtol=0, atol=0)
    fit(fresh(), val, dataclasses.replace(tc, select_best=False, epochs=1), checkpoint=tmp_path / "d.pt",
        progress=False)
    with pytest.raises(ConfigError, match="select_best=False"):
        fit(fresh(), val, tc, checkpoint=tmp_path / "d.pt", progress=False)
    with pytest.raises(ConfigError, match="select_best must be True or False"):
        TrainConfig(epochs=1, select_best=1)


def test_evaluate_repeats_are_independent_and_reproducible(digits):
    torch.manual_seed(0)
    model = mlp((64, 32, 10))
    fit(model, digits, TrainConfig(epochs=3, lr=0.05), progress=False)
    xn = convert(model, CrossbarConfig(adc_bits=4, noise=NoiseConfig(program_sigma=0.5)))
    r1 = evaluate(xn, digits.x_test, digits.y_test, mode="hardware", n_repeats=4, seed=0)
    r2 = evaluate(xn, digits.x_test, digits.y_test, mode="hardware", n_repeats=4, seed=0)
    assert r1 == r2 and len(set(r1.accuracies)) > 1 and r1.std > 0
    np.testing.assert_allclose(r1.mean, np.mean(r1.accuracies), rtol=1e-12)
    clean = evaluate(xn, digits.x_test, digits.y_test, mode="float")
    assert clean.mean > r1.mean and clean.std == 0.0
    with pytest.raises(ConfigError, match="n_repeats"):
        evaluate(xn, digits.x_test, digits.y_test, n_repeats=0)
    with pytest.raises(ConfigError, match="TrainConfig.mode.*'analog'"):
        TrainConfig(epochs=1, mode="analog")


def _small(digits, n_train: int = 256, n_test: int = 128):
    return type(digits)(x_train=digits.x_train[:n_train], y_train=digits.y_train[:n_train],
                        x_test=digits.x_test[:n_test], y_test=digits.y_test[:n_test], n_classes=10,
                        name="digits-small", source=digits.source)


def test_hardware_mode_fit_equals_quantized_fit_when_lossless(digits):
    """No noise + lossless ADCs: the hardware forward equals the quantized one and its backward
    is the quantized STE, so training in either mode gives the same weights."""
    small = _small(digits)
    torch.manual_seed(0)
    base = convert(mlp((64, 16, 10)), CrossbarConfig(rows=16, adc_bits=9), seed=1)
    runs = {}
    for mode in ("quantized", "hardware"):
        xn = copy.deepcopy(base)
        hist = fit(xn, small, TrainConfig(epochs=2, lr=0.05, batch_size=32, mode=mode, seed=2), progress=False)
        runs[mode] = (xn, hist)
    (q, hq), (h, hh) = runs["quantized"], runs["hardware"]
    np.testing.assert_allclose(hh.loss, hq.loss, rtol=1e-5)
    assert hh.test_accuracy == hq.test_accuracy
    for a, b in zip(q.parameters(), h.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)


def test_hardware_mode_fit_trains_through_lossy_adcs(digits):
    """With 1-bit/3-bit ADCs the loss and the per-epoch accuracy are those of the hardware forward."""
    small = _small(digits)
    torch.manual_seed(0)
    model = mlp((64, 32, 10))
    fit(model, small, TrainConfig(epochs=5, lr=0.05), progress=False)
    cfg = CrossbarConfig(rows=128, weight_bits=9, adc_bits=(3, 3, 3, 1), adc_range=(7.0, 7.0, 7.0, 1.0))
    xn = convert(model, cfg, seed=1)
    hw_before = evaluate(xn, small.x_test, small.y_test, mode="hardware", batch_size=512).mean
    q_before = evaluate(xn, small.x_test, small.y_test, mode="quantized", batch_size=512).mean
    assert q_before - hw_before > 0.05, "the ADCs must cost accuracy (else this test checks nothing)"
    hist = fit(xn, small, TrainConfig(epochs=3, lr=0.01, mode="hardware", seed=2), progress=False)
    hw = evaluate(xn, small.x_test, small.y_test, mode="hardware", batch_size=512).mean
    q = evaluate(xn, small.x_test, small.y_test, mode="quantized", batch_size=512).mean
    assert hist.test_accuracy[-1] == hw != q
    assert all(layer.xbar.mode == "hardware" for _, layer in crossbar_layers(xn))


def test_grad_clip_bounds_each_step_and_divergence_is_reported(digits):
    small = type(digits)(x_train=digits.x_train[:64], y_train=digits.y_train[:64],
                         x_test=digits.x_test[:32], y_test=digits.y_test[:32], n_classes=10,
                         name="digits-small", source=digits.source)
    torch.manual_seed(0)
    model = mlp((64, 16, 10))
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    # one SGD step without momentum moves the parameters by lr * clipped gradient: norm <= lr * clip
    fit(model, small, TrainConfig(epochs=1, lr=1.0, momentum=0.0, batch_size=64, grad_clip=1e-3), progress=False)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    step = float(torch.linalg.vector_norm(after - before))
    assert 0 < step <= 1e-3 * (1 + 1e-5)
    torch.manual_seed(0)
    with pytest.raises(TrainingDivergedError, match="lr"):
        fit(mlp((64, 16, 10)), small, TrainConfig(epochs=3, lr=1e30, momentum=0.0, batch_size=16), progress=False)
    for bad in (0.0, -1.0, float("nan"), True):
        with pytest.raises(ConfigError, match="grad_clip"):
            TrainConfig(epochs=1, grad_clip=bad)


@pytest.mark.parametrize(("field", "bad"), [("lr_step", 0), ("lr_step", -2), ("lr_step", 2.5), ("lr_step", True),
                                            ("lr_factor", 0.0), ("lr_factor", float("inf")), ("lr_factor", -0.5)])
def test_train_config_rejects_a_bad_learning_rate_schedule(field, bad):
    with pytest.raises(ConfigError, match=f"TrainConfig.{field} must be .*got {bad!r}"):
        TrainConfig(epochs=1, **{field: bad})


def test_clip_weights_at_a_power_of_two_by_hand():
    xn = convert(nn.Sequential(nn.Linear(4, 2, bias=False), nn.Linear(2, 1, bias=False)), CrossbarConfig())
    w = torch.tensor([[0.1, -0.2, 0.3, -3.0], [0.05, 0.0, 0.6, 0.2]])
    with torch.no_grad():
        xn[0].weight.copy_(w)
        xn[1].weight.zero_()
    std = float(w.std())  # 1.0818: 2 * std = 2.16 -> c = 2; 0.5 * std = 0.54 -> c = 0.5
    clip_weights(xn, 2.0)
    torch.testing.assert_close(xn[0].weight, w.clamp(-2.0, 2.0), rtol=0, atol=0)
    assert xf.exponent_of(xn[0].weight) == 1  # the fixed-point scale is the clip itself: 2**1
    assert torch.all(xn[1].weight == 0)  # all-zero layers are left alone
    with torch.no_grad():
        xn[0].weight.copy_(w)
    clip_weights(xn, 0.5)
    np.testing.assert_array_equal(xn[0].weight.detach().numpy(), np.clip(w.numpy(), -0.5, 0.5))
    assert 0.5 * std > 0.5 and 0.5 * std < 1.0
    with pytest.raises(ConfigError, match="no crossbar layers"):
        clip_weights(nn.Linear(3, 2), 2.0)
    for bad in (0.0, -1.0, float("nan"), True):
        with pytest.raises(ConfigError, match="weight_clip_sigma"):
            TrainConfig(epochs=1, weight_clip_sigma=bad)


def test_fit_clips_before_training_and_after_every_step(digits):
    """One full-batch SGD step with clipping equals clip -> step -> clip done by hand."""
    small = type(digits)(x_train=digits.x_train[:128], y_train=digits.y_train[:128],
                         x_test=digits.x_test[:32], y_test=digits.y_test[:32], n_classes=10,
                         name="digits-small", source=digits.source)
    torch.manual_seed(0)
    xn = convert(mlp((64, 16, 10)), CrossbarConfig())
    with torch.no_grad():
        xn[1].weight[0, 0] = 5.0  # an outlier the clip must remove
    by_hand = copy.deepcopy(xn)
    fit(xn, small, TrainConfig(epochs=1, lr=0.1, momentum=0.0, batch_size=128, mode="quantized",
                               weight_clip_sigma=2.5), progress=False)
    clip_weights(by_hand, 2.5)
    assert float(by_hand[1].weight.detach().abs().max()) < 5.0
    set_mode(by_hand, "quantized")
    by_hand.train()
    loss = nn.functional.cross_entropy(by_hand(torch.as_tensor(small.x_train)), torch.as_tensor(small.y_train))
    loss.backward()
    with torch.no_grad():
        for p in by_hand.parameters():
            p -= 0.1 * p.grad
    clip_weights(by_hand, 2.5)
    for a, b in zip(xn.parameters(), by_hand.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
