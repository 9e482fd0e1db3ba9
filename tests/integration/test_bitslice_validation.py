"""experiments.bitslice_sparsity --validation: the test split plays no part in training or selection."""

from __future__ import annotations

import numpy as np


def test_validation_keeps_the_test_split_out_of_training_and_selection(tmp_path, monkeypatch, capsys):
    """Every ``fit`` (pretraining, both fine-tunings, ADC-aware fine-tuning) gets the split's rest as
    training data and its held-out part as the per-epoch (selection) data; the ADC plans see the
    rest; the selected epoch maximizes validation accuracy + mean zero ratio; the reported accuracy
    is the selected model's on the test split."""
    import h5py

    from experiments import bitslice_sparsity as bs
    from mapping.data import load_digits
    from mapping.nn.bitslice import slice_zero_ratios
    from mapping.nn.train import evaluate

    data = load_digits(seed=0)
    held = data.split_validation(0.25, seed=0)
    fits, plans, scores, test_acc = [], [], {}, {}
    real_fit, real_plan, real_finetune = bs.fit, bs.plan_adc_bits, bs.finetune

    def spy_fit(model, d, cfg, callback=None, **kw):
        fits.append(d)
        if callback is None:
            return real_fit(model, d, cfg, **kw)
        mine = scores.setdefault(len(scores), [])

        def both(epoch, m, hist):
            mine.append(hist.test_accuracy[-1] + slice_zero_ratios(m).mean_zero_ratio)
            callback(epoch, m, hist)
        return real_fit(model, d, cfg, callback=both, **kw)

    def spy_finetune(*args):
        xn, epoch, masks = real_finetune(*args)
        test_acc[len(test_acc)] = (epoch, evaluate(xn, data.x_test, data.y_test, mode="quantized").mean)
        return xn, epoch, masks

    monkeypatch.setattr(bs, "fit", spy_fit)
    monkeypatch.setattr(bs, "finetune", spy_finetune)
    monkeypatch.setattr(bs, "plan_adc_bits", lambda m, x, y, **kw: plans.append((x, y)) or real_plan(m, x, y, **kw))
    assert bs.main(["--smoke", "--validation", "0.25", "--out", str(tmp_path)]) == 0
    assert len(fits) == 1 + 2 + 2 * 3 and plans  # pretraining, two fine-tunings, 3 ADC-aware each
    for d in fits:
        for got, want in ((d.x_train, held.x_train), (d.y_train, held.y_train), (d.x_test, held.x_test),
                          (d.y_test, held.y_test)):
            np.testing.assert_array_equal(got, want)
    for x, y in plans:
        np.testing.assert_array_equal(x, held.x_train)
        np.testing.assert_array_equal(y, held.y_train)
    with h5py.File(tmp_path / "results.h5") as f:
        assert f["summary"]["n_validation"][()] == held.n_test
        for k, method in enumerate(("l1", "bitslice")):
            epoch, acc = test_acc[k]
            assert f[method]["selected_epoch"][()] == epoch == int(np.argmax(scores[k]))
            assert f[method]["accuracy"][()] == acc
    assert f"on {held.n_test} held-out validation images" in capsys.readouterr().out
