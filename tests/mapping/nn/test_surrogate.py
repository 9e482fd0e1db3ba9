"""The differentiable crossbar twin behind ``hardware_grad="adc"`` (``matmul_surrogate``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from crossbar import CrossbarConfig, program
from crossbar.errors import ConfigError
from crossbar.slicing import encode_weights, input_digits
from mapping.nn import convert, crossbar_layers, reconfigure, set_hardware_grad, set_mode
from mapping.nn.torch_engine import _adc_codes_torch, adc_codes_ste, matmul_surrogate
from mapping.nn.train import TrainConfig

CONFIGS = {
    "default": dict(rows=24),
    "lossy-tuple": dict(rows=16, weight_bits=9, adc_bits=(3, 3, 3, 1), adc_range=(7.0, 7.0, 7.0, 1.0)),
    "offset-2bit-dac": dict(rows=20, encoding="offset", dac_bits=2, adc_bits=4),
    "signed-inputs": dict(rows=32, signed_inputs=True, adc_bits=(2, 3, 4, 1)),
    "ideal-adc": dict(rows=16, adc_bits=None),
    "subtract": dict(rows=16, weight_bits=9, adc_bits=(3, 3, 3, 2), adc_range=(7.0, 7.0, 7.0, 1.0),
                     differential_adc="subtract", signed_inputs=True),
    "subtract-ideal": dict(rows=16, adc_bits=None, differential_adc="subtract"),
}


def _case(kw: dict, seed: int, batch: int = 5, n_in: int = 45, n_out: int = 6):
    cfg = CrossbarConfig(**kw)
    r = np.random.default_rng(seed)
    q = r.integers(-cfg.q_max, cfg.q_max + 1, size=(n_in, n_out))
    q[r.random(q.shape) < 0.2] = 0  # zeros: the gradient is split between the two arrays
    x = r.integers(cfg.x_min, cfg.x_max + 1, size=(batch, n_in))
    return cfg, q, x


@pytest.mark.parametrize("kw", CONFIGS.values(), ids=CONFIGS.keys())
def test_surrogate_value_equals_the_engine_without_noise(kw, seed):
    cfg, q, x = _case(kw, seed)
    m = program(q, cfg)
    got = matmul_surrogate(m, torch.tensor(x, dtype=torch.float64), torch.tensor(q, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), m.matmul(x), rtol=1e-12, atol=1e-9)


def _oracle_grads(cfg: CrossbarConfig, q: np.ndarray, x: np.ndarray, g: np.ndarray):
    """Per-term loops: each (array, slice, cycle) column sum passes the gradient only when its
    ADC code is inside ``[min_code, max_code]`` (ideal ADCs always; under ``"subtract"`` the code
    of the pair's difference decides for both arrays); weights' gradients go to the array
    holding the weight (half each for 0), spread as ``1/n_slices``; inputs' over their cycles."""
    m = program(q, cfg)
    adc = m.adc_parameters(0)
    levels = encode_weights(q, cfg).astype(float)  # (n_signs, n_slices, n_in, n_out)
    digits = input_digits(x, cfg).astype(float)    # (T, batch, n_in)
    cw = np.asarray(cfg.cycle_weights, dtype=float)
    n_signs, n_slices, n_in, n_out = levels.shape
    gw, gx = np.zeros(q.shape), np.zeros(x.shape)
    for sign in range(n_signs):
        held = np.ones(q.shape) if n_signs == 1 else \
            ((q > 0) if sign == 0 else (q < 0)) + 0.5 * (q == 0)
        for s in range(n_slices):
            f = sign * n_slices + s
            for t in range(len(cw)):
                for r0 in range(0, n_in, cfg.rows):
                    rows = slice(r0, min(r0 + cfg.rows, n_in))
                    p = digits[t][:, rows] @ levels[sign, s, rows]  # (batch, n_out)
                    if cfg.differential_adc == "subtract":  # the ADC of the pair (field s) decides
                        f = s
                        p = digits[t][:, rows] @ (levels[0, s, rows] - levels[1, s, rows])
                    code = np.rint(p / adc.delta_scaled[f])
                    passes = np.ones_like(p) if adc.ideal[f] else \
                        (code >= adc.min_code[f]) & (code <= adc.max_code[f])
                    gp = g * passes  # d loss / d p, times sign * 4**s * cw_t below
                    gw[rows] += cw[t] * digits[t][:, rows].T @ gp * held[rows] / n_slices
                    gx[:, rows] += gp @ levels[sign, s, rows].T * (2.0 ** (cfg.cell_bits * s)) \
                        * (1 if sign == 0 else -1) / len(cw)
    gx -= cfg.offset * g.sum(axis=1, keepdims=True)
    return gw, gx


@pytest.mark.parametrize("kw", CONFIGS.values(), ids=CONFIGS.keys())
def test_surrogate_gradient_matches_the_per_term_oracle(kw, seed):
    cfg, q, x = _case(kw, seed)
    g = np.random.default_rng(seed + 7).normal(size=(x.shape[0], q.shape[1]))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(q, dtype=torch.float64, requires_grad=True)
    (matmul_surrogate(program(q, cfg), xt, wt) * torch.from_numpy(g)).sum().backward()
    gw, gx = _oracle_grads(cfg, q, x, g)
    np.testing.assert_allclose(wt.grad.numpy(), gw, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(xt.grad.numpy(), gx, rtol=1e-10, atol=1e-9)
    ste_w = x.T @ g
    if kw.get("adc_bits", 6) is None:  # nothing clips: exactly the straight-through gradient
        np.testing.assert_allclose(gw, ste_w, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(gx, g @ q.T, rtol=1e-10, atol=1e-9)
    elif "adc_range" in kw:  # sums above 7 / 1 clip here: the gradient must differ somewhere
        assert not np.allclose(gw, ste_w)


def test_fully_clipped_weights_get_no_gradient():
    """A column whose every column sum saturates its ADC passes no gradient to its weights."""
    cfg = CrossbarConfig(rows=8, weight_bits=9, adc_bits=1, adc_range=1.0)
    q = np.full((8, 2), 255)
    q[:, 1] = 0
    q[0, 1] = 1  # column 1: one LSB level, sums 0 or 1: never clipped
    x = np.full((3, 8), 255)
    wt = torch.tensor(q, dtype=torch.float64, requires_grad=True)
    y = matmul_surrogate(program(q, cfg), torch.tensor(x, dtype=torch.float64), wt)
    y.sum().backward()
    assert torch.all(wt.grad[:, 0] == 0)
    assert wt.grad[0, 1] > 0


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 5, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(5 * 4 * 4, 7), nn.ReLU(), nn.Linear(7, 3))


def _grads(xn: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    xn.zero_grad()
    y = xn(x)
    y.square().sum().backward()
    return y.detach(), [p.grad.clone() for p in xn.parameters()]


@pytest.mark.parametrize("adc_bits", [9, (3, 3, 3, 1)], ids=["lossless", "lossy"])
def test_hardware_grad_adc_in_layers(adc_bits):
    """Same forward as ``"ste"``; the same gradient when nothing clips, another one when the
    ADCs clip (conv and linear layers)."""
    cfg = CrossbarConfig(rows=16, adc_bits=adc_bits, adc_range=(7.0, 7.0, 7.0, 1.0) if adc_bits != 9 else "max")
    xn = set_mode(convert(_net(), cfg), "hardware")
    x = torch.rand(4, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    y_ste, g_ste = _grads(xn, x)
    y_adc, g_adc = _grads(set_hardware_grad(xn, "adc"), x)
    torch.testing.assert_close(y_adc, y_ste, rtol=0, atol=0)
    if adc_bits == 9:
        for a, b in zip(g_adc, g_ste, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    else:
        assert not all(torch.allclose(a, b) for a, b in zip(g_adc, g_ste, strict=True))
        # biases are added digitally after the ADCs: their gradient flows unclipped in both
        torch.testing.assert_close(g_adc[-1], g_ste[-1], rtol=1e-5, atol=1e-6)


def test_hardware_grad_setting_is_validated_and_kept():
    xn = set_hardware_grad(convert(_net(), CrossbarConfig()), "adc")
    for copied in (reconfigure(xn, CrossbarConfig(rows=8)), copy.deepcopy(xn)):
        assert all(layer.xbar.hardware_grad == "adc" for _, layer in crossbar_layers(copied))
    with pytest.raises(ConfigError, match="hardware_grad.*'exact'"):
        set_hardware_grad(xn, "exact")
    with pytest.raises(ConfigError, match="TrainConfig.hardware_grad.*'clip'"):
        TrainConfig(epochs=1, hardware_grad="clip")


@pytest.mark.parametrize("gmin", ["digital", "reference"])
def test_surrogate_sees_the_programmed_levels_but_not_read_noise(seed, gmin):
    """With programming noise the twin multiplies the programmed (noisy) levels, reference column
    included: with ideal ADCs it equals the engine up to the engine's fixed-point rounding of those
    levels."""
    from crossbar import NoiseConfig

    noise = NoiseConfig(program_sigma=0.1, stuck_on_rate=0.05)
    # 6 weight columns per array: a weight's 8 (sign, slice) columns straddle arrays, so the reference
    # cells' errors do not cancel between its plus and minus columns (they do within one array)
    cfg, q, x = _case(dict(rows=16, cols=7, adc_bits=None, noise=noise, gmin_removal=gmin), seed)
    m = program(q, cfg, rng=np.random.default_rng(seed))
    got = matmul_surrogate(m, torch.tensor(x, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)).numpy()
    want = m.matmul(x)
    noiseless = program(q, cfg.replace(noise=NoiseConfig())).matmul(x)
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * scale)
    assert np.abs(got - noiseless).max() > 1e-3 * scale, "the programming noise must show"
    if gmin == "reference":  # the same cells without their reference column: another product
        cells_only = program(q, cfg.replace(gmin_removal="digital"), rng=np.random.default_rng(seed)).matmul(x)
        assert np.abs(want - cells_only).max() > 1e-3 * scale


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ideal", [(False, False, False), (False, True, False)])
@pytest.mark.parametrize("signed", [False, True])
def test_adc_code_kernel_equals_the_torch_composition_bit_for_bit(dtype, ideal, signed):
    g = torch.Generator().manual_seed(3)
    ds = np.array([1.0, 3.0, 2.0 / 3.0])  # steps: exact, integer, and one whose division rounds
    mc = np.array([7.0, 1.0, 3.0])
    lo = -mc if signed else None
    p = (torch.randint(-24 if signed else 0, 24, (4, 5, 3, 6), generator=g) / 2.0).to(dtype)  # ties
    p[0, 0, :, :3] = torch.tensor([-1.0, 0.5, 100.0], dtype=dtype)[:, None]  # below 0, tie at 0, clipped
    p[0, 1, :, :2] = torch.tensor([-100.0, -0.5], dtype=dtype)[None, :]  # clipped below, tie at -0
    grad = torch.randn(p.shape, generator=g, dtype=dtype)
    outs = []
    for fn in (adc_codes_ste, _adc_codes_torch):
        x = p.clone().requires_grad_(True)
        y = fn(x, ds, mc, np.array(ideal), lo)
        y.backward(grad)
        outs.append((y.detach(), x.grad))
    (y1, g1), (y2, g2) = outs
    assert y1.dtype == dtype and torch.equal(y1, y2) and torch.equal(g1, g2)
    r = (p / torch.as_tensor(ds, dtype=dtype)[:, None]).round()
    bound = torch.as_tensor(mc, dtype=dtype)[:, None]
    clipped = (r > bound) | (r < (-bound if signed else 0))
    assert bool((clipped & ~torch.as_tensor(ideal)[:, None]).any()), "some sums must clip (else the test is weak)"
    if signed:  # codes reach below 0 and stop at -max_code
        real = ~torch.as_tensor(ideal)
        assert bool((y1[:, :, real] < 0).any()) and torch.equal(y1[:, :, real].amin(dim=(0, 1, 3)),
                                                                -torch.as_tensor(mc, dtype=dtype)[real])
    if ideal[1]:
        assert torch.equal(y1[:, :, 1], p[:, :, 1]) and torch.equal(g1[:, :, 1], grad[:, :, 1])
