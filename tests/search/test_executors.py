"""Executors: one protocol, same semantics and identical sweep results in-process, locally and on Dask."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from crossbar import CrossbarConfig
from crossbar.errors import ConfigError
from mapping.layers import Conv2dSpec, LinearSpec
from mapping.plan import LayerInstance
from search.executors import DaskExecutor, Executor, LocalExecutor, SerialExecutor, make_executor
from search.sweep import AccuracySpec, sweep

LAYERS = [LayerInstance(spec=Conv2dSpec(in_channels=1, out_channels=6, kernel_size=5, padding=2, name="conv"),
                        input_hw=(8, 8)),
          LinearSpec(in_features=384, out_features=10, name="fc")]
DESIGNS = [CrossbarConfig(rows=r, cell_bits=c, adc_bits=b) for r in (64, 128) for c in (1, 2) for b in (4, 8)]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def _tiny_accuracy() -> AccuracySpec:
    from mapping.data import load_digits
    from mapping.nn.models import mlp

    data = load_digits(seed=0)
    build = functools.partial(mlp, (64, 10))
    rng = np.random.default_rng(0)
    state = {"1.weight": rng.normal(0, 0.3, (10, 64)).astype(np.float32), "1.bias": np.zeros(10, np.float32)}
    return AccuracySpec(build=build, state=state, x=data.x_test[:64], y=data.y_test[:64], n_repeats=2, seed=1)


def _same(a, b):
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        if name != "seconds":
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_serial_runs_lazily_in_order_and_keeps_exceptions():
    calls = []

    def task(k):
        calls.append(k)
        if k == 2:
            raise ZeroDivisionError("k == 2")
        return k * k

    ex = SerialExecutor()
    futs = [ex.submit(task, k) for k in range(4)]
    assert calls == []  # nothing runs before the caller asks
    got = []
    for fut in ex.as_completed(futs):
        got.append(fut.exception() is None)
        assert calls[-1] == len(got) - 1  # one task per yielded future
    assert got == [True, True, False, True]
    with pytest.raises(ZeroDivisionError, match="k == 2"):
        futs[2].result()
    assert futs[3].result() == 9
    later = ex.submit(task, 5)
    assert later.result() == 25  # result() alone runs it too
    cancelled = ex.submit(task, 6)
    ex.shutdown()
    assert cancelled.cancelled() and 6 not in calls


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_protocol_and_failures(kind):
    with make_executor(kind, max_workers=2) if kind == "local" else make_executor(kind) as ex:
        assert isinstance(ex, Executor) and ex.n_workers == (2 if kind == "local" else 1)
        futs = [ex.submit(divmod, 7, 2), ex.submit(divmod, 1, 0)]
        done = list(ex.as_completed(futs))
        assert sorted(map(id, done)) == sorted(map(id, futs))
        assert futs[0].result() == (3, 1)
        with pytest.raises(ZeroDivisionError):
            futs[1].result()


def test_make_executor_specs_and_errors():
    assert isinstance(make_executor("serial"), SerialExecutor)
    serial = SerialExecutor()
    assert make_executor(serial) is serial
    for spec, match in (("cluster", "unknown executor 'cluster'"), (3, "spec must be")):
        with pytest.raises(ConfigError, match=match):
            make_executor(spec)
    with pytest.raises(ConfigError, match="max_workers applies to 'local' only"):
        make_executor("serial", max_workers=2)
    with pytest.raises(ConfigError, match="max_workers must be an integer >= 1"):
        LocalExecutor(max_workers=0)


def test_serial_local_and_dask_give_identical_sweeps(tmp_path, dask_client):
    common = {"tech": "isaac_ce_32nm", "progress": False}
    serial = sweep(LAYERS, DESIGNS, store_path=tmp_path / "serial.h5", executor="serial", **common)
    local = sweep(LAYERS, DESIGNS, store_path=tmp_path / "local.h5",
                  executor=make_executor("local", max_workers=2), **common)
    on_dask = sweep(LAYERS, DESIGNS, store_path=tmp_path / "dask.h5", executor=dask_client, **common)
    assert serial.n_failed == 0 and len(serial) == len(DESIGNS)
    _same(serial, local)
    _same(serial, on_dask)
    # a scheduler address connects (and closes) its own client; same code path
    by_address = sweep(LAYERS, DESIGNS[:3], store_path=tmp_path / "addr.h5",
                       executor=dask_client.scheduler.address, **common)
    assert by_address["key"].tolist() == serial["key"][:3].tolist()
    assert dask_client.status == "running"  # a client passed in is left open


def test_dask_accuracy_matches_serial(tmp_path, dask_client):
    accuracy = _tiny_accuracy()
    layers = [LinearSpec(in_features=64, out_features=10, name="1")]
    designs = [CrossbarConfig(adc_bits=b) for b in (3, 8)]
    common = {"tech": "isaac_ce_32nm", "progress": False, "accuracy": accuracy}
    serial = sweep(layers, designs, store_path=tmp_path / "s.h5", executor="serial", **common)
    on_dask = sweep(layers, designs, store_path=tmp_path / "d.h5", executor=DaskExecutor(dask_client),
                    **common)
    assert serial.n_failed == 0 and np.all(np.isfinite(serial["accuracy_mean"]))
    _same(serial, on_dask)


def test_dask_failures_come_back(dask_client):
    ex = make_executor(dask_client)
    futs = [ex.submit(divmod, 7, 2), ex.submit(divmod, 1, 0)]
    assert len(list(ex.as_completed(futs))) == 2
    assert futs[0].result() == (3, 1)
    with pytest.raises(ZeroDivisionError):
        futs[1].result()
    ex.shutdown()
    assert dask_client.status == "running"
