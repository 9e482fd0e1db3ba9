"""Every experiment script runs in --smoke mode and writes what it promises."""

from __future__ import annotations

import csv
import json

from experiments import bench_mvm, demo


def test_demo_smoke(tmp_path, capsys):
    assert demo.main(["--smoke", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "adc_noise_error.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(demo.NOISES) * 9
    noiseless = {r["adc_bits"]: float(r["rel_rms_error"]) for r in rows if r["noise"] == "no noise"}
    # lossless settings (>= 9 bits at 128 rows x 3 levels, and the ideal ADC) are exact
    assert noiseless["9"] == noiseless["10"] == noiseless["ideal"] == 0.0
    assert noiseless["3"] > noiseless["6"] > noiseless["8"] > 0.0
    noisy = [float(r["rel_rms_error"]) for r in rows if r["noise"] != "no noise"]
    assert min(noisy) > 0.0
    assert (tmp_path / "adc_noise_error.png").stat().st_size > 10_000
    assert "relative RMS error" in capsys.readouterr().out


def test_bench_smoke(capsys):
    assert bench_mvm.main(["--batch", "4", "--n-in", "40", "--n-out", "24", "--repeats", "1",
                           "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for name in ("offset_adc6", "differential_adc6", "lossless_fast_path"):
        assert res[name] > 0 and abs(res[name + "_ratio"] - res[name] / res["gemm_f32"]) < 1e-12
