"""Benchmark: bit-sliced crossbar MVM vs a float32 NumPy GEMM of the same shape.

Reference shape (issue 2): batch 256, 1024 in, 1024 out, 8-bit weights in 2-bit cells, 8-bit
inputs through a 1-bit DAC, 128 rows per array, 6-bit ADC over the max range, offset and
differential encoding; the differential pairs through one signed 7-bit ADC each
(``differential_adc="subtract"``: the same 63 codes per sign); plus the lossless exact fast path,
and ``calibrate_adc`` (99.9th percentile of every column sum of the batch, differential encoding).
Prints each median time and its ratio to the float32 GEMM measured in the same run (medians of
``--repeats`` runs after warm-up).

Run: ``python -m experiments.bench_mvm`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from crossbar import CrossbarConfig, calibrate_adc, program
from experiments._common import median_time


def run(*, batch: int, n_in: int, n_out: int, repeats: int, seed: int) -> dict[str, float]:
    """Time every case; returns ``{name: seconds}`` plus ``{name + "_ratio": t / t_gemm}``."""
    rng = np.random.default_rng(seed)
    q = rng.integers(-127, 128, size=(n_in, n_out))
    x = rng.integers(0, 256, size=(batch, n_in))
    xf = x.astype(np.float32)
    qf = q.astype(np.float32)
    t_gemm = median_time(lambda: xf @ qf, max(repeats, 20))
    res = {"gemm_f32": t_gemm}
    base = CrossbarConfig(rows=128, cell_bits=2, weight_bits=8, input_bits=8, dac_bits=1)
    cases = {
        "offset_adc6": base.replace(encoding="offset", adc_bits=6),
        "differential_adc6": base.replace(encoding="differential", adc_bits=6),
        "subtract_adc7": base.replace(encoding="differential", differential_adc="subtract", adc_bits=7),
        "lossless_fast_path": base,
    }
    for name, cfg in cases.items():
        m = program(q, cfg)
        res[name] = median_time(lambda m=m: m.matmul(x), repeats)
    m = program(q, cases["differential_adc6"].replace(adc_range="calibrated"))
    res["calibrate_adc"] = median_time(lambda: calibrate_adc(m, x, percentile=99.9), repeats)
    for name in [*cases, "calibrate_adc"]:
        res[name + "_ratio"] = res[name] / t_gemm
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--n-in", type=int, default=1024)
    p.add_argument("--n-out", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = p.parse_args(argv)
    res = run(batch=a.batch, n_in=a.n_in, n_out=a.n_out, repeats=a.repeats, seed=a.seed)
    if a.json:
        print(json.dumps(res))
        return 0
    print(f"shape: batch {a.batch}, {a.n_in} in, {a.n_out} out; medians of {a.repeats} runs")
    print(f"{'case':<22}{'time [ms]':>12}{'x float32 GEMM':>16}")
    print(f"{'gemm_f32':<22}{res['gemm_f32'] * 1e3:>12.2f}{1.0:>16.2f}")
    for name in (k for k in res if k != "gemm_f32" and not k.endswith("_ratio")):
        print(f"{name:<22}{res[name] * 1e3:>12.2f}{res[name + '_ratio']:>16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
