"""StreamingPercentile and calibrate_adc's streaming path against np.percentile over all values (oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crossbar.engine
from crossbar import CrossbarConfig, NoiseConfig, calibrate_adc, program
from crossbar._select import StreamingPercentile, higher_index

PERCENTILES = [0.0, 1e-9, 0.1, 33.3, 50.0, 57.0, 99.0, 99.9, 99.99, 100.0 - 1e-9, 100.0]


@pytest.mark.parametrize("percentile", PERCENTILES)
def test_higher_index_is_numpys_position(percentile):
    for n in list(range(1, 300)) + [999, 1000, 1001, 12345, 2**20 + 3]:
        want = int(np.percentile(np.arange(n), percentile, method="higher"))
        assert higher_index(n, percentile) == want, n


@settings(max_examples=200)
@given(data=st.data(), n=st.integers(1, 400), percentile=st.sampled_from(PERCENTILES) | st.floats(0, 100),
       ties=st.booleans(), floats=st.booleans())
def test_streaming_percentile_equals_numpy_on_all_values(data, n, percentile, ties, floats):
    seed = data.draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    values = r.integers(-3, 4, n) if ties else r.integers(-10**12, 10**12, n)
    values = values.astype(np.float32 if floats else np.int64)
    cuts = np.sort(r.integers(0, n + 1, data.draw(st.integers(0, 8))))  # empty chunks included
    s = StreamingPercentile(n, percentile)
    for chunk in np.split(values, cuts):
        s.add(chunk.reshape(-1, 1) if chunk.size % 2 else chunk)  # any shape
    assert s.value() == float(np.percentile(values, percentile, method="higher"))


def test_streaming_percentile_keeps_only_the_tail():
    r = np.random.default_rng(0)
    s = StreamingPercentile(10**6, 99.9)
    for _ in range(100):
        s.add(r.random(10**4))
        assert s._kept.size <= 1000  # n - k = 1000 values, not the 10^6
    assert s.value() > 0.99


def test_streaming_percentile_refuses_a_wrong_count():
    s = StreamingPercentile(3, 50.0)
    s.add(np.array([1, 2]))
    with pytest.raises(ValueError, match="got 2 of the n = 3"):
        s.value()
    with pytest.raises(ValueError, match="more than n = 3"):
        s.add(np.array([3, 4]))
    with pytest.raises(ValueError, match="n must be >= 1"):
        StreamingPercentile(0, 50.0)


def _pooled_oracle(m, x, percentile):
    """Every ADC input of every slice at once (``column_sums`` without read noise), NumPy's percentile."""
    sums = m.column_sums(x, read_noise=False)  # (signs, slices, tiles, cycles, batch, out)
    if m.config.differential_adc == "subtract":
        sums = np.abs(sums[0] - sums[1])[None]
    return tuple(max(1.0, float(np.percentile(sums[:, s], percentile, method="higher")))
                 for s in range(m.config.n_slices))


@pytest.mark.parametrize("percentile", [50.0, 99.0, 99.9, 100.0])
@pytest.mark.parametrize(("encoding", "adc", "noise"), [
    ("differential", "separate", NoiseConfig()),
    ("differential", "subtract", NoiseConfig()),
    ("differential", "separate", NoiseConfig(program_sigma=0.1)),  # fixed point with fraction bits
    ("differential", "subtract", NoiseConfig(program_sigma=0.1)),
    ("offset", "separate", NoiseConfig(program_sigma=0.05))])
@pytest.mark.parametrize("chunk", [2**22, 200])  # one chunk, and one sample per chunk
def test_calibrate_adc_is_the_percentile_of_all_column_sums(monkeypatch, seed, percentile, encoding, adc, noise, chunk):
    monkeypatch.setattr(crossbar.engine, "CALIBRATION_CHUNK", chunk)
    cfg = CrossbarConfig(rows=16, adc_bits=4, adc_range="calibrated", encoding=encoding, differential_adc=adc,
                         noise=noise, signed_inputs=encoding == "offset")
    r = np.random.default_rng(seed)
    q = r.integers(-cfg.q_max, cfg.q_max + 1, size=(40, 3))
    x = r.integers(cfg.x_min, cfg.x_max + 1, size=(23, 40))
    m = program(q, cfg, rng=np.random.default_rng(seed + 1))
    got = calibrate_adc(m, x, percentile=percentile).adc_full_scale
    assert got == _pooled_oracle(m, x, percentile)
