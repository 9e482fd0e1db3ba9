"""Majority vote, per-layer training-noise scale, and the column-sum / ADC-bit report."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from crossbar import CrossbarConfig, NoiseConfig
from crossbar.errors import ConfigError
from mapping.nn import convert, crossbar_layers, reconfigure, set_mode
from mapping.nn import functional as xf
from mapping.nn.bitslice import column_sum_report
from mapping.nn.vote import MajorityVote, add_majority_vote, set_noise_scale


def _model(noise: NoiseConfig) -> nn.Module:
    torch.manual_seed(0)
    return convert(nn.Sequential(nn.Linear(12, 9), nn.ReLU(), nn.Linear(9, 5)),
                   CrossbarConfig(noise=noise), seed=4)


def test_majority_vote_is_the_majority_of_independent_copies():
    xn = add_majority_vote(_model(NoiseConfig(program_sigma=1.0)), "2")
    vote = xn[2]
    assert isinstance(vote, MajorityVote) and len(vote.copies) == 3
    assert len({id(c.weight) for c in vote.copies}) == 1, "copies share one master weight"
    set_mode(xn, "hardware")
    xn.eval()
    x = torch.rand(40, 12, generator=torch.Generator().manual_seed(1))
    h = torch.relu(xn[0](x))
    outs = torch.stack([c(h) for c in vote.copies])
    assert not torch.equal(outs[0], outs[1]), "copies must have independent devices"
    want = torch.mode(outs.argmax(-1), dim=0).values
    counts = nn.functional.one_hot(outs.argmax(-1), 5).sum(0)
    clear = counts.max(-1).values >= 2  # rows with a strict majority
    got = xn(x).argmax(-1)
    torch.testing.assert_close(got[clear], want[clear])
    xn.train()
    torch.testing.assert_close(vote(h), outs.mean(0))
    with pytest.raises(ConfigError, match="copies"):
        MajorityVote(xn[0], copies=1)


def test_noise_scale_zero_gives_the_quantized_forward():
    xn = _model(NoiseConfig(read_sigma=0.5, program_sigma=0.5))
    x = torch.rand(8, 12, generator=torch.Generator().manual_seed(2))
    set_noise_scale(xn, 0.0)
    a = set_mode(xn, "noisy")(x)
    torch.testing.assert_close(a, set_mode(xn, "quantized")(x), rtol=0, atol=0)
    set_noise_scale(xn, 1.0, names=["2"])
    assert [layer.xbar.noise_scale for _, layer in crossbar_layers(xn)] == [0.0, 1.0]
    with pytest.raises(ConfigError, match="no crossbar layers named"):
        set_noise_scale(xn, 1.0, names=["fc9"])


def test_column_sum_report_matches_the_engine():
    xn = _model(NoiseConfig())
    x = np.random.default_rng(0).random((30, 12)).astype(np.float32)
    rep = column_sum_report(xn, x, coverages=(100.0, 50.0))
    assert rep.layers == ("0", "2")
    # first layer: recompute the ADC inputs directly from the quantized integers
    cfg = xn[0].xbar.config
    xq, _ = xf.quantize_input_ste(torch.as_tensor(x), cfg)
    wq, _ = xf.quantize_weight_ste(xn[0].weight, cfg.weight_bits)
    from crossbar import program

    sums = program(wq.detach().t().to(torch.int64).numpy(), cfg).column_sums(xq.to(torch.int64).numpy())
    per_slice = np.moveaxis(sums, 1, 0).reshape(cfg.n_slices, -1)
    hist = rep.histograms[0]
    assert hist.shape[0] == cfg.n_slices and np.all(hist.sum(axis=1) == per_slice.shape[1])
    for s in range(cfg.n_slices):
        np.testing.assert_array_equal(hist[s], np.bincount(per_slice[s].astype(int), minlength=hist.shape[1]))
        assert rep.adc_bits[0, s, 0] == max(1, int(per_slice[s].max()).bit_length())
        assert rep.adc_bits[0, s, 1] <= rep.adc_bits[0, s, 0]
    assert all(layer.xbar.probe is None and layer.xbar.mode == "float" for _, layer in crossbar_layers(xn))


def test_column_sum_report_under_read_noise_sums_the_programmed_levels():
    """With read noise the report still needs no rng: the sums of a noise-free read of the
    programmed devices, as without the read noise (first layer: the later layers' inputs follow
    the earlier layers' noisy reads)."""
    prog = NoiseConfig(program_sigma=0.1)
    noisy, quiet = _model(dataclasses.replace(prog, read_sigma=0.2)), _model(prog)
    x = np.random.default_rng(0).random((30, 12)).astype(np.float32)
    a, b = column_sum_report(noisy, x), column_sum_report(quiet, x)
    np.testing.assert_array_equal(a.adc_bits[0], b.adc_bits[0])
    np.testing.assert_array_equal(a.histograms[0], b.histograms[0])
    assert a.histograms[0].sum() > 0 and a.layers == ("0", "2")


def test_column_sum_report_of_signed_adcs_pools_the_pair_differences():
    xn = reconfigure(_model(NoiseConfig()), CrossbarConfig(rows=8, differential_adc="subtract"))
    x = np.random.default_rng(0).random((30, 12)).astype(np.float32)
    rep = column_sum_report(xn, x, coverages=(100.0,))
    cfg = xn[0].xbar.config
    xq, _ = xf.quantize_input_ste(torch.as_tensor(x), cfg)
    wq, _ = xf.quantize_weight_ste(xn[0].weight, cfg.weight_bits)
    from crossbar import program

    sums = program(wq.detach().t().to(torch.int64).numpy(), cfg).column_sums(xq.to(torch.int64).numpy())
    diff = np.abs(sums[0] - sums[1]).reshape(cfg.n_slices, -1)
    hist = rep.histograms[0]
    assert np.all(hist.sum(axis=1) == diff.shape[1])  # one signed conversion per pair
    for s in range(cfg.n_slices):
        np.testing.assert_array_equal(hist[s], np.bincount(diff[s].astype(int), minlength=hist.shape[1]))
        assert rep.adc_bits[0, s, 0] == max(1, int(diff[s].max()).bit_length()) + 1
