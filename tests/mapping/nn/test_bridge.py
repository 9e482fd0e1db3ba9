"""Torch bridge: modes, exactness against the crossbar engines, convert, save/load, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from crossbar import CrossbarConfig, NoiseConfig, program
from crossbar.config import BOLTZMANN, ELEMENTARY_CHARGE
from crossbar.errors import ConfigError, InputError
from crossbar.noise import program_levels, read_std
from crossbar.slicing import encode_weights
from mapping.nn import convert, crossbar_layers, load_state, reconfigure, reseed, save_state, set_mode
from mapping.nn import device_noise as dn
from mapping.nn import functional as xf
from mapping.nn.torch_engine import matmul_torch


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 5, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(5, 4, 2, padding=1, bias=False), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 7), nn.ReLU(), nn.Linear(7, 3))


def _x(seed: int = 1) -> torch.Tensor:
    return torch.rand(6, 2, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_float_mode_is_the_original_model():
    net = _net()
    xn = convert(net, CrossbarConfig())
    torch.testing.assert_close(xn(_x()), net(_x()), rtol=0, atol=0)
    assert type(net[0]) is nn.Conv2d, "convert must not modify its argument"


@pytest.mark.parametrize("encoding", ["differential", "offset"])
def test_hardware_equals_quantized_when_ideal(encoding):
    """No noise + lossless ADC: the crossbar forward equals the quantized forward (and its
    gradients are the straight-through ones)."""
    xn = convert(_net(), CrossbarConfig(rows=16, encoding=encoding, adc_bits=9))
    x = _x()
    set_mode(xn, "quantized")
    yq = xn(x)
    yq.square().sum().backward()
    gq = [p.grad.clone() for p in xn.parameters()]
    xn.zero_grad()
    set_mode(xn, "hardware")
    yh = xn(x)
    torch.testing.assert_close(yh, yq, rtol=1e-6, atol=1e-6)
    yh.square().sum().backward()
    for a, b in zip(gq, [p.grad for p in xn.parameters()], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_hardware_lossy_adc_matches_engine_layer_by_layer():
    cfg = CrossbarConfig(rows=16, adc_bits=(3, 3, 3, 1))
    net = nn.Sequential(nn.Linear(40, 9))
    xn = set_mode(convert(net, cfg), "hardware")
    x = torch.rand(5, 40, generator=torch.Generator().manual_seed(3))
    got = xn(x).detach().double()
    xq, dx = xf.quantize_input_ste(x, cfg)
    wq, dw = xf.quantize_weight_ste(net[0].weight, cfg.weight_bits)
    q = wq.detach().t().to(torch.int64).numpy()
    y_int = program(q, cfg).matmul(xq.to(torch.int64).numpy(), engine="numpy")
    want = torch.from_numpy(y_int) * dx * dw + net[0].bias.detach().double()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    set_mode(xn, "quantized")
    assert not torch.allclose(xn(x).double(), want), "a 1/3-bit ADC must change the result"


NOISY = NoiseConfig(program_sigma=0.1, read_sigma=0.05, physical_programming=True, thermal=True,
                    shot=True, rtn=True, stuck_on_rate=0.01, stuck_off_rate=0.01)


@pytest.mark.parametrize("noise", [NoiseConfig(), NOISY], ids=["ideal", "noisy"])
@pytest.mark.parametrize(("adc_bits", "pairs"), [(None, "separate"), (5, "separate"), ((2, 3, 4, 1), "separate"),
                                                 (None, "subtract"), ((2, 3, 4, 5), "subtract")])
@pytest.mark.parametrize("signed", [False, True])
def test_torch_engine_equals_numba_bit_for_bit(noise, adc_bits, pairs, signed, seed):
    cfg = CrossbarConfig(rows=24, adc_bits=adc_bits, signed_inputs=signed, noise=noise, frequency=1e9,
                         differential_adc=pairs)
    r = np.random.default_rng(seed)
    q = r.integers(-127, 128, size=(61, 13))
    x = r.integers(cfg.x_min, cfg.x_max + 1, size=(7, 61))
    m = program(q, cfg, rng=np.random.default_rng(seed))
    want = m.matmul(x, rng=np.random.default_rng(seed + 1), fast_path=False)
    got = matmul_torch(m, torch.as_tensor(x), rng=np.random.default_rng(seed + 1), batch_chunk=3)
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize(("adc_bits", "pairs"),
                         [(None, "separate"), ((2, 3, 4, 1), "separate"), ((2, 3, 4, 5), "subtract")])
def test_torch_engine_equals_numba_with_reference_columns(adc_bits, pairs, seed):
    """``gmin_removal="reference"``: the torch twin reads the same levels (cells minus their array's
    reference cell), so it stays bit for bit with the Numba engine."""
    cfg = CrossbarConfig(rows=24, cols=20, adc_bits=adc_bits, noise=NOISY, frequency=1e9, differential_adc=pairs,
                         gmin_removal="reference")
    r = np.random.default_rng(seed)
    q = r.integers(-127, 128, size=(61, 13))
    x = r.integers(0, 256, size=(7, 61))
    m = program(q, cfg, rng=np.random.default_rng(seed))
    want = m.matmul(x, rng=np.random.default_rng(seed + 1), fast_path=False)
    got = matmul_torch(m, torch.as_tensor(x), rng=np.random.default_rng(seed + 1), batch_chunk=3)
    np.testing.assert_array_equal(got.numpy(), want)
    digital = program(q, cfg.replace(gmin_removal="digital"), rng=np.random.default_rng(seed))
    assert not np.array_equal(digital.matmul(x, rng=np.random.default_rng(seed + 1)), want)


def test_slice_levels_match_crossbar_slicing(seed):
    for cfg in (CrossbarConfig(), CrossbarConfig(encoding="offset", cell_bits=3, weight_bits=7)):
        q = np.random.default_rng(seed).integers(-cfg.q_max, cfg.q_max + 1, size=(9, 4))
        got = dn.slice_levels(torch.as_tensor(q, dtype=torch.float64), cfg).numpy()
        np.testing.assert_array_equal(got, encode_weights(q, cfg))


def test_quantize_weight_ste_rule_and_gradient():
    w = torch.tensor([0.5, -0.26, 0.124, 0.0], requires_grad=True)
    q, delta = xf.quantize_weight_ste(w, 8)
    # max|w| = 0.5 -> s = -1, delta = 2**(-1 - 7); 0.5/delta = 128 -> clamped to 127
    assert delta == 2.0**-8
    np.testing.assert_array_equal(q.detach().numpy(), [127.0, -67.0, 32.0, 0.0])  # 66.56, 31.74
    (q * delta).sum().backward()
    # identity gradient, except through the clamp (as torch.clamp in the reference)
    np.testing.assert_array_equal(w.grad.numpy(), np.array([0.0, 1.0, 1.0, 1.0], dtype=np.float32))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", [0, 2])
def test_quantizers_refuse_nan_and_inf(bad, where):
    x = torch.tensor([0.5, -0.25, 0.125])
    x[where] = bad
    noisy = CrossbarConfig(noise=NoiseConfig(read_sigma=0.1))
    for quantize_weight in (lambda w: xf.quantize_weight_ste(w, 8), lambda w: xf.fake_quantize_weight_ste(w, 8),
                            lambda w: dn.noisy_weight_ste(w, noisy, dn.noise_streams(np.random.SeedSequence(0)))):
        for w in (x, x.double()):
            with pytest.raises(InputError, match="NaN or inf"):
                quantize_weight(w)
    for quantize_input in (xf.quantize_input_ste, xf.fake_quantize_input_ste):
        with pytest.raises(InputError, match="NaN or inf"):
            quantize_input(x, CrossbarConfig(signed_inputs=True))
        if bad != -float("inf"):
            with pytest.raises(InputError, match="NaN or inf"):
                quantize_input(x.abs(), CrossbarConfig())


def test_quantize_input_ste_rule_and_gradient():
    cfg = CrossbarConfig(signed_inputs=True, input_bits=4)  # 3 magnitude bits
    x = torch.tensor([0.9, -1.0, 0.3, -0.06, 0.0625], requires_grad=True)
    q, delta = xf.quantize_input_ste(x, cfg)
    # max|x| = 1 -> s = 0, delta = 2**-3; x / delta = 7.2, -8, 2.4, -0.48, 0.5 (half to even)
    assert delta == 2.0**-3
    np.testing.assert_array_equal(q.detach().numpy(), [7.0, -8.0, 2.0, -0.0, 0.0])
    q.sum().backward()  # gradient 1 / delta inside [x_min, x_max] = [-8, 7]
    np.testing.assert_array_equal(x.grad.numpy(), np.array([8.0, 8.0, 8.0, 8.0, 8.0], dtype=np.float32))
    y = torch.tensor([1.0, 0.5, 0.3], requires_grad=True)  # unsigned 8 bits: s = 0, delta = 2**-8
    q, delta = xf.quantize_input_ste(y, CrossbarConfig())
    assert delta == 2.0**-8
    np.testing.assert_array_equal(q.detach().numpy(), [255.0, 128.0, 77.0])  # 256 clamped; 76.8
    q.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.array([0.0, 256.0, 256.0], dtype=np.float32))

    cfg = CrossbarConfig(noise=NoiseConfig(read_sigma=0.2))
    w = torch.full((200, 200), 0.3, requires_grad=True)
    w.data[0, 0] = 0.5  # sets the exponent: delta = 2**-8, q = round(0.3 * 256) = 77 = 1031 (base 4)
    g = torch.Generator().manual_seed(0)
    wn = dn.noisy_weight_ste(w, cfg, g)
    err = (wn.detach() / 2.0**-8 - 77.0)[1:, 1:].flatten()
    # 2 signs x 4 slices with read std 0.2 level; slice s weighs 4**s
    want_std = 0.2 * np.sqrt(2 * sum(16.0**s for s in range(4)))
    assert abs(float(err.mean())) < 5 * want_std / np.sqrt(err.numel())
    np.testing.assert_allclose(float(err.std()), want_std, rtol=0.03)
    wn.sum().backward()
    want = np.ones((200, 200), dtype=np.float32)
    want[0, 0] = 0.0  # 0.5 / delta = 128 is clamped to 127
    np.testing.assert_array_equal(w.grad.numpy(), want)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ["kernel", "torch"])
def test_fake_quantizers_equal_q_times_delta_bit_for_bit(dtype, backend, monkeypatch):
    if backend == "torch":  # the path of CUDA tensors and other dtypes
        monkeypatch.setattr(xf, "_on_cpu_kernel", lambda x: False)
    gen = torch.Generator().manual_seed(0)
    w = torch.rand(3000, generator=gen, dtype=dtype) * 2.0 - 1.0
    w[:2] = torch.tensor([1.0, -1.0])  # s = 0, delta = 2**-7: +-128 are clamped to +-127
    w[2:60] = (torch.arange(58, dtype=dtype) - 29.0 + 0.5) * 2.0**-7  # ties round half to even
    x = torch.rand(40, 75, generator=gen, dtype=dtype)
    x[0, :30] = (torch.arange(30, dtype=dtype) + 0.5) * 2.0**-8  # ties; max x < 1: delta = 2**-8
    grad_w, grad_x = torch.randn(w.shape, generator=gen, dtype=dtype), torch.randn(x.shape, generator=gen, dtype=dtype)
    signed = CrossbarConfig(signed_inputs=True, input_bits=5)
    for fake, slow, t, grad in (
            (lambda t: xf.fake_quantize_weight_ste(t, 8), lambda t: xf.quantize_weight_ste(t, 8), w, grad_w),
            (lambda t: xf.fake_quantize_input_ste(t, CrossbarConfig()),
             lambda t: xf.quantize_input_ste(t, CrossbarConfig()), x, grad_x),
            (lambda t: xf.fake_quantize_input_ste(t, signed), lambda t: xf.quantize_input_ste(t, signed),
             x - 0.5, grad_x)):
        a, b = t.detach().clone().requires_grad_(True), t.detach().clone().requires_grad_(True)
        got = fake(a)
        q, delta = slow(b)
        want = q * delta
        assert got.dtype == dtype and got.shape == t.shape
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        got.backward(grad)
        want.backward(grad)
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n, scale", [(3000, 1.0), (3000, 0.3), (40_000, 0.5)])
def test_noisy_weight_cpu_kernel_equals_the_composition_bit_for_bit(dtype, n, scale):
    """The one-pass kernel (quantize, draw, combine) against quantize + weight_perturbation +
    ``q * delta + dq * (scale * delta)`` in torch, with the same streams: value, gradient, streams."""
    cfg = CrossbarConfig(noise=NoiseConfig(physical_programming=True, thermal=True, shot=True, rtn=True,
                                           read_sigma=0.02))
    gen = torch.Generator().manual_seed(n)
    w = torch.randn(n, generator=gen, dtype=dtype).reshape(-1, 50) * 0.2
    w[0, :2] = torch.tensor([1.0, -1.0])  # clamped: gradient 0
    a, b = w.clone().requires_grad_(True), w.clone().requires_grad_(True)
    fused_streams = dn.noise_streams(np.random.SeedSequence(2))
    slow_streams = fused_streams.copy()
    got = dn.noisy_weight_ste(a, cfg, fused_streams, scale=scale)
    q, delta = xf.quantize_weight_ste(b, cfg.weight_bits)
    want = q * delta + dn.weight_perturbation(q, cfg, slow_streams).mul_(scale * delta)
    assert got.dtype == dtype and got.shape == w.shape
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    np.testing.assert_array_equal(fused_streams, slow_streams)
    grad = torch.randn(w.shape, generator=gen, dtype=dtype)
    got.backward(grad)
    want.backward(grad)
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
    assert float(a.grad[0, 0]) == 0.0 and float(a.grad[0, 1]) == 0.0 and bool((a.grad[1:] == grad[1:]).all())


def _perturb_levels(levels: torch.Tensor, config: CrossbarConfig, generator: torch.Generator | None
                   ) -> torch.Tensor:
    """Oracle: cell levels after one fresh draw of every noise source of ``config.noise``.

    The per-cell reference for ``dn.weight_perturbation`` (which draws fewer random numbers).

    Programming and read sources are all drawn (training samples a new device every forward,
    as PytorX/ReSNA do). Same formulas as :mod:`crossbar.noise`, computed in ``levels``' dtype
    (float32 suffices for training noise; pass float64 for exact statistics).
    """
    noise = config.noise
    if not noise.is_noisy:
        return levels
    lv = levels.detach()
    kw = {"generator": generator, "device": lv.device, "dtype": lv.dtype}
    top = 2**config.cell_bits - 1
    dg = config.level_conductance
    g_floor = config.g_min / dg
    out = lv.clone()
    if noise.program_sigma is not None and noise.program_sigma > 0:
        z = torch.randn(lv.shape, **kw)
        if noise.program_model == "level":
            out = out + noise.program_sigma * z
        elif noise.program_model == "range":
            out = out + noise.program_sigma * top * z
        else:
            out = (g_floor + out) * torch.exp(noise.program_sigma * z) - g_floor
    if noise.physical_programming:
        out = out + torch.randn(lv.shape, **kw) * config.physical_programming_std
    if noise.stuck_on_rate > 0 or noise.stuck_off_rate > 0:
        u = torch.rand(lv.shape, **kw)
        out = torch.where(u < noise.stuck_on_rate, torch.full_like(out, top), out)
        off = (u >= noise.stuck_on_rate) & (u < noise.stuck_on_rate + noise.stuck_off_rate)
        out = torch.where(off, torch.zeros_like(out), out)
    var = torch.zeros_like(out)
    if noise.read_sigma is not None and noise.read_sigma > 0:
        var = var + (noise.read_sigma * (1.0 if noise.read_model == "level" else top)) ** 2
    g = torch.clamp(config.g_min + out * dg, min=0.0)
    if noise.thermal:
        kt4 = 4.0 * BOLTZMANN * config.temperature
        var = var + g * config.frequency * kt4 / config.read_voltage**2 / dg**2
    if noise.shot:
        var = var + g * config.frequency * 2.0 * ELEMENTARY_CHARGE / config.read_voltage / dg**2
    read = out + torch.sqrt(var) * torch.randn(lv.shape, **kw) if bool((var > 0).any()) else out
    if noise.rtn and noise.rtn_probability > 0:
        g_r = torch.clamp(g, min=config.g_min)
        k = noise.rtn_b * g_r + noise.rtn_a
        hit = torch.rand(lv.shape, **kw) < noise.rtn_probability
        read = read + torch.where(hit, g_r * k / (g_r - k) / dg, torch.zeros_like(read))
    return read


def _recombined(q, cfg, generator):
    """The slow oracle: slice, perturb every cell level, recombine with sign * 2**(c s)."""
    levels = dn.slice_levels(q, cfg)
    diff = _perturb_levels(levels, cfg, generator) - levels
    sign = torch.tensor([1.0, -1.0][: cfg.n_signs], dtype=q.dtype)
    place = torch.tensor([2.0 ** (cfg.cell_bits * s) for s in range(cfg.n_slices)], dtype=q.dtype)
    pv = (sign[:, None] * place[None, :]).reshape((cfg.n_signs, cfg.n_slices) + (1,) * q.dim())
    return (diff * pv).sum(dim=(0, 1))


def _source(backend: str, seed: int):
    """The random source that selects ``backend`` in ``dn.weight_perturbation``."""
    if backend == "torch":
        return torch.Generator().manual_seed(seed)
    return dn.noise_streams(np.random.SeedSequence(seed))


@pytest.mark.parametrize("noise", [
    NoiseConfig(program_sigma=0.2, physical_programming=True, read_sigma=0.1, thermal=True, shot=True, rtn=True,
                stuck_on_rate=0.01, stuck_off_rate=0.02),
    NoiseConfig(program_sigma=0.3, program_model="lognormal", thermal=True, rtn=True, rtn_probability=0.3),
    NoiseConfig(program_sigma=0.01, program_model="range", read_sigma=0.02, read_model="range"),
    NoiseConfig(physical_programming=True, physical_programming_bits=7, thermal=True, shot=True),
    NoiseConfig(program_sigma=0.2, program_model="lognormal", stuck_off_rate=0.05),
], ids=["all", "lognormal", "range", "pytorx-step", "no-read"])
@pytest.mark.parametrize("encoding", ["differential", "offset"])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_weight_perturbation_has_the_distribution_of_the_per_cell_oracle(noise, encoding, backend):
    """Per-weight draws (fewer random numbers) vs per-cell perturb + recombine: same law per weight."""
    cfg = CrossbarConfig(cell_bits=3, weight_bits=8, encoding=encoding, frequency=1e9, temperature=400.0,
                         noise=noise)
    values = torch.tensor([0.0, 1.0, -77.0, 127.0], dtype=torch.float64)
    q = values.repeat(25_000)  # 25,000 draws of each of four weights
    fast = dn.weight_perturbation(q, cfg, _source(backend, 11)).reshape(-1, 4)
    slow = _recombined(q, cfg, torch.Generator().manual_seed(12)).reshape(-1, 4)
    for j in range(4):
        a, b = fast[:, j].numpy(), slow[:, j].numpy()
        assert stats.ks_2samp(a, b).pvalue > 1e-3, (j, a.mean(), b.mean(), a.std(), b.std())
        np.testing.assert_allclose(a.std(), b.std(), rtol=0.1)  # stuck cells make the tails heavy


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_weight_perturbation_read_noise_follows_the_programmed_level(backend):
    """Every cell stuck on (level ``top`` whatever it should hold): the read noise must be that of
    ``top``, from ``crossbar.noise.read_std``, not of the nominal level (which the KS test above
    cannot see: there thermal noise is tiny next to programming noise)."""
    cfg = CrossbarConfig(cell_bits=2, weight_bits=8, frequency=1e9, temperature=400.0,
                         noise=NoiseConfig(stuck_on_rate=1.0, thermal=True, shot=True, read_sigma=0.001))
    q = torch.tensor([0.0, 5.0, -100.0], dtype=torch.float64).repeat(20_000)
    levels = dn.slice_levels(q, cfg)  # (2, 4, n)
    place = torch.tensor([[1.0], [-1.0]])[:, :, None] * torch.tensor([4.0**s for s in range(4)])[None, :, None]
    shift = ((3.0 - levels) * place).sum(dim=(0, 1))  # every cell moved to level 3
    read = (dn.weight_perturbation(q, cfg, _source(backend, 4)) - shift).reshape(-1, 3)
    want = float(read_std(np.array([3.0]), cfg)[0]) * float((place**2).sum()) ** 0.5
    assert float(read_std(np.array([0.0]), cfg)[0]) < 0.5 * float(read_std(np.array([3.0]), cfg)[0])
    for j in range(3):
        np.testing.assert_allclose(float(read[:, j].std()), want, rtol=0.03)
        assert abs(float(read[:, j].mean())) < 5 * want / np.sqrt(20_000)


def test_weight_perturbation_cpu_kernel_is_seeded_and_independent_of_threads():
    import numba

    cfg = CrossbarConfig(noise=NoiseConfig(physical_programming=True, thermal=True, rtn=True, read_sigma=0.02))
    n_block = 1040  # every block holds the same weights, so blocks differ only by their streams
    q = (torch.arange(n_block) % 255 - 127.0).repeat(dn.NOISE_STREAMS)
    assert q.numel() // dn.NOISE_BLOCK >= dn.NOISE_STREAMS and q.numel() >= dn.PARALLEL_MIN_WEIGHTS
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = dn.weight_perturbation(q, cfg, dn.noise_streams(np.random.SeedSequence(3)))
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        streams = dn.noise_streams(np.random.SeedSequence(3))
        many = dn.weight_perturbation(q, cfg, streams)
    finally:
        numba.set_num_threads(before)
    serial = np.empty(q.numel(), dtype=np.float32)
    dn._perturbation_serial(q.numpy(), 1.0, np.inf, 1.0, cfg.n_signs, cfg.n_slices, cfg.cell_bits,
                            *dn._kernel_terms(dn._noise_params(cfg)), dn.noise_streams(np.random.SeedSequence(3)),
                            serial, None)
    torch.testing.assert_close(many, one, rtol=0, atol=0)
    np.testing.assert_array_equal(serial, one.numpy())
    assert bool(torch.isfinite(one).all()) and float((one == 0).float().mean()) == 0.0
    again = dn.weight_perturbation(q, cfg, streams)  # the streams advanced: a fresh draw
    assert float((again == many).float().mean()) < 1e-3
    blocks = one.reshape(dn.NOISE_STREAMS, n_block)
    assert all(float((blocks[i] == blocks[j]).float().mean()) < 1e-3 for i in range(8) for j in range(i))


def test_weight_perturbation_rejects_bad_random_sources():
    cfg = CrossbarConfig(noise=NoiseConfig(read_sigma=0.1))
    q = torch.zeros(4)
    with pytest.raises(ConfigError, match="generator must be"):
        dn.weight_perturbation(q, cfg, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="generator must be"):
        dn.weight_perturbation(q, cfg, np.zeros((8, 3), dtype=np.uint64))
    frozen = dn.noise_streams(np.random.SeedSequence(0))
    frozen.flags.writeable = False
    with pytest.raises(ConfigError, match="generator must be"):
        dn.weight_perturbation(q, cfg, frozen)
    with pytest.raises(ConfigError, match="CPU tensors only"):
        dn.weight_perturbation(q.to("meta"), cfg, dn.noise_streams(np.random.SeedSequence(0)))


def test_torch_noise_matches_crossbar_noise_std():
    cfg = CrossbarConfig(cell_bits=8, frequency=1e9, temperature=400.0,
                         noise=NoiseConfig(thermal=True, shot=True))
    levels = torch.full((400, 400), 100.0, dtype=torch.float64)
    out = _perturb_levels(levels, cfg, torch.Generator().manual_seed(1))
    want = float(read_std(np.array([100.0]), cfg)[0])
    np.testing.assert_allclose(float((out - levels).std()), want, rtol=0.02)


@pytest.mark.parametrize("bits", [None, 7])
def test_torch_physical_programming_matches_crossbar_std(bits):
    cfg = CrossbarConfig(cell_bits=6, noise=NoiseConfig(physical_programming=True, physical_programming_bits=bits))
    levels = torch.full((400, 400), 20.0, dtype=torch.float64)
    out = _perturb_levels(levels, cfg, torch.Generator().manual_seed(3))
    want = float(program_levels(np.full(160_000, 20.0), cfg, rng=np.random.default_rng(3)).std())
    np.testing.assert_allclose(float((out - levels).std()), want, rtol=0.02)
    np.testing.assert_allclose(want, cfg.physical_programming_std, rtol=0.02)


def test_noisy_mode_draws_fresh_noise_and_is_seeded():
    cfg = CrossbarConfig(noise=NOISY)
    a = set_mode(convert(_net(), cfg, seed=5), "noisy")
    b = set_mode(convert(_net(), cfg, seed=5), "noisy")
    y1, y2 = a(_x()), a(_x())
    assert not torch.equal(y1, y2)
    torch.testing.assert_close(b(_x()), y1, rtol=0, atol=0)


def test_hardware_mode_programs_once_and_reseed_reprograms():
    cfg = CrossbarConfig(adc_bits=6, noise=NoiseConfig(program_sigma=0.3))
    xn = set_mode(convert(_net(), cfg, seed=2), "hardware")
    y1, y2 = xn(_x()), xn(_x())
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)  # programming noise fixed, no read noise
    reseed(xn, 9)
    assert not torch.equal(xn(_x()), y1)
    reseed(xn, np.random.SeedSequence(2).spawn(1)[0])


def test_overrides_select_and_errors():
    cfg = CrossbarConfig()
    xn = convert(_net(), cfg, overrides={"7": None, "5": cfg.replace(noise=NoiseConfig(read_sigma=0.01))})
    assert type(xn[7]) is nn.Linear and xn[5].xbar.config.noise.read_sigma == 0.01
    only_conv = convert(_net(), cfg, select=lambda name, m: isinstance(m, nn.Conv2d))
    assert type(only_conv[5]) is nn.Linear and hasattr(only_conv[0], "xbar")
    with pytest.raises(ConfigError, match="overrides name no convertible layer"):
        convert(_net(), cfg, overrides={"fc9": None})
    with pytest.raises(ConfigError, match="mode must be one of"):
        set_mode(xn, "analog")
    with pytest.raises(InputError, match="negative values"):
        set_mode(xn, "quantized")(_x() - 0.5)


def test_state_dict_round_trip(tmp_path):
    cfg = CrossbarConfig(adc_bits=5)
    xn = set_mode(convert(_net(), cfg), "hardware")
    path = tmp_path / "m.pt"
    save_state(xn, path)
    other = set_mode(convert(_net(seed=7), cfg), "hardware")
    assert not torch.equal(other(_x()), xn(_x()))
    load_state(other, path)
    torch.testing.assert_close(other(_x()), xn(_x()), rtol=0, atol=0)


def test_reconfigure_changes_adc_and_convert_refuses_converted_models():
    xn = set_mode(convert(_net(), CrossbarConfig()), "hardware")
    lossy = reconfigure(xn, CrossbarConfig(adc_bits=(1, 1, 1, 1)))
    assert all(layer.xbar.config.adc_bits == (1, 1, 1, 1) for _, layer in crossbar_layers(lossy))
    assert all(layer.xbar.mode == "hardware" for _, layer in crossbar_layers(lossy))
    assert not torch.allclose(lossy(_x()), xn(_x()))
    assert xn[0].xbar.config.adc_bits is None, "reconfigure must not modify its argument"
    with pytest.raises(ConfigError, match="already has crossbar layers"):
        convert(xn, CrossbarConfig())


def test_torch_bridge_selects_the_workqueue_threading_layer():
    import subprocess
    import sys

    code = ("import numpy as np, numba, mapping.nn; from crossbar import CrossbarConfig, program; "
            "program(np.ones((40, 9), int), CrossbarConfig(adc_bits=4)).matmul(np.ones((3, 40), int)); "
            "print(numba.threading_layer())")
    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "workqueue"


def test_calibrated_adc_in_hardware_mode_calibrates_on_first_batch():
    cfg = CrossbarConfig(adc_bits=4, adc_range="calibrated")
    xn = set_mode(convert(_net(), cfg), "hardware")
    y1 = xn(_x())
    for _, layer in crossbar_layers(xn):
        m = layer.xbar.programmed[1]
        assert m.adc_full_scale is not None and len(m.adc_full_scale) == cfg.n_slices
    torch.testing.assert_close(xn(_x()), y1, rtol=0, atol=0)  # calibration is kept, not redone
    lossy_max = set_mode(convert(_net(), cfg.replace(adc_range="max")), "hardware")
    ideal = set_mode(convert(_net(), CrossbarConfig()), "hardware")(_x())
    # a calibrated 4-bit ADC is far closer to ideal than a 4-bit ADC over the max range
    assert (y1 - ideal).abs().mean() < (lossy_max(_x()) - ideal).abs().mean()
