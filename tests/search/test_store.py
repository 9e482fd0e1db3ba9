"""Results store: round trip, reopen/resume, schema and fingerprint checks, damaged files, failed rows."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest

from crossbar.errors import XbarError
from search.store import RESERVED_COLUMNS, STORE_FORMAT, ResultStore, StoreError, fingerprint

COLUMNS = {"energy": "float64", "n_arrays": "int64", "config": "str"}


def _ok(key: str, energy: float = 1.0, n_arrays: int = 3, config=None) -> dict:
    return {"key": key, "status": "ok", "energy": energy, "n_arrays": n_arrays,
            "config": config if config is not None else {"rows": 128, "key": key}}


@pytest.fixture
def store(tmp_path) -> ResultStore:
    return ResultStore.open(tmp_path / "s.h5", columns=COLUMNS, fingerprint="fp-1", meta={"sweep": {"a": 1}})


def test_round_trip_types_and_metadata(store, tmp_path):
    store.append(_ok("a", 1.5, 7, {"rows": 64, "adc_bits": [3, 3, 1]}))
    store.append({"key": "b", "status": "failed", "error": "ValueError: boom", "n_arrays": 2})
    store.append(_ok("c", 2.5e-6, 9, "raw text"))
    again = ResultStore.read(tmp_path / "s.h5")
    assert len(again) == 3 and again.keys() == ["a", "b", "c"]
    assert again.columns == {**dict(RESERVED_COLUMNS), **COLUMNS}
    assert again.fingerprint == "fp-1" and again.meta == {"sweep": {"a": 1}}
    cols = again.to_dict_of_arrays()
    assert cols["energy"].dtype == np.float64 and cols["n_arrays"].dtype == np.int64
    assert cols["config"].dtype.kind == "U" and cols["status"].tolist() == ["ok", "failed", "ok"]
    np.testing.assert_array_equal(cols["energy"][[0, 2]], [1.5, 2.5e-6])
    assert math.isnan(cols["energy"][1]) and cols["n_arrays"].tolist() == [7, 2, 9]
    assert json.loads(cols["config"][0]) == {"adc_bits": [3, 3, 1], "rows": 64}
    assert cols["config"][1] == "" and cols["config"][2] == "raw text"
    assert cols["error"].tolist() == ["", "ValueError: boom", ""]
    rows = again.rows()
    assert rows[0]["key"] == "a" and rows[0]["n_arrays"] == 7 and isinstance(rows[0]["n_arrays"], int)
    assert rows[1]["status"] == "failed" and rows[1]["error"] == "ValueError: boom"
    with h5py.File(tmp_path / "s.h5") as f:  # the documented layout
        assert f.attrs["format"] == STORE_FORMAT and f.attrs["n_rows"] == "3"
        assert f["rows"].dtype.names == tuple(again.columns) and f["rows"].chunks is not None


def test_reopen_appends_and_keeps_metadata(store, tmp_path):
    store.append(_ok("a"))
    reopened = ResultStore.open(tmp_path / "s.h5", columns=COLUMNS, fingerprint="fp-1", meta={"other": 2})
    assert reopened.meta == {"sweep": {"a": 1}} and reopened.created == store.created
    reopened.append(_ok("b", 2.0))
    assert store.keys() == ["a", "b"]  # handles read the file, not a cache
    assert ResultStore.read(tmp_path / "s.h5").to_dict_of_arrays(["energy"])["energy"].tolist() == [1.0, 2.0]


def test_empty_store_reads_empty_arrays(store):
    cols = store.to_dict_of_arrays()
    assert len(store) == 0 and store.keys() == [] and store.rows() == []
    assert cols["energy"].shape == (0,) and cols["energy"].dtype == np.float64


@pytest.mark.parametrize("columns, fp, match", [
    ({"energy": "float64", "n_arrays": "float64", "config": "str"}, "fp-1", r"dtypes differ: \['n_arrays"),
    ({"energy": "float64", "config": "str"}, "fp-1", r"columns only in the file: \['n_arrays'\]"),
    ({**COLUMNS, "area": "float64"}, "fp-1", r"columns missing from the file: \['area'\]"),
    (COLUMNS, "fp-2", "fingerprint"),
])
def test_mismatch_is_an_error_and_changes_nothing(store, tmp_path, columns, fp, match):
    store.append(_ok("a"))
    path = tmp_path / "s.h5"
    before = path.read_bytes()
    with pytest.raises(StoreError, match=match) as info:
        ResultStore.open(path, columns=columns, fingerprint=fp)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"certainly not HDF5 \x00\xff" * 50])
def test_garbage_file_is_a_clear_error_and_never_overwritten(tmp_path, content):
    path = tmp_path / "results.h5"
    path.write_bytes(content)
    calls = (lambda: ResultStore.open(path, columns=COLUMNS, fingerprint="x"), lambda: ResultStore.read(path))
    for call in calls:
        with pytest.raises(StoreError, match="not a readable HDF5 file") as info:
            call()
        assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_truncated_store_is_a_clear_error(store, tmp_path):
    for i in range(20):
        store.append(_ok(f"k{i}"))
    path = tmp_path / "s.h5"
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="cut.h5"):
        ResultStore.read(cut).to_dict_of_arrays()


def test_hdf5_file_that_is_not_a_store(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    with pytest.raises(StoreError, match="lacks the root attribute 'format'"):
        ResultStore.open(path, columns=COLUMNS, fingerprint="x")
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(StoreError, match="not an xbarsim results store"):
        ResultStore.read(path)


def test_interrupted_append_is_invisible_and_overwritten(store, tmp_path):
    """A kill between writing a record and committing ``n_rows`` leaves an extra, ignored record."""
    store.append(_ok("a"))
    path = tmp_path / "s.h5"
    with h5py.File(path, "r+") as f:  # what a killed append leaves behind: record 1 written, n_rows = 1
        ds = f["rows"]
        ds.resize((2,))
        rec = np.empty(1, dtype=ds.dtype)
        for name in ds.dtype.names:
            rec[name] = "" if ds.dtype[name].kind == "O" else 0
        rec["key"] = "half-written"
        ds[1] = rec[0]
    assert len(store) == 1 and store.keys() == ["a"]
    store.append(_ok("b"))
    assert store.keys() == ["a", "b"]


@pytest.mark.parametrize("row, match", [
    ({**_ok("a"), "colour": 1}, r"unknown columns \['colour'\]"),
    ({"key": "a", "status": "ok", "energy": 1.0}, r"missing \['n_arrays', 'config'\]"),
    ({**_ok("a"), "n_arrays": True}, "'n_arrays' \\(int64\\) needs an integer"),
    ({**_ok("a"), "n_arrays": 2.5}, "'n_arrays' \\(int64\\) needs an integer"),
    ({**_ok("a"), "energy": "1.0"}, "'energy' \\(float64\\) needs a real number"),
    ({**_ok("a"), "config": 3}, "'config' \\(str\\) needs a string"),
    ({**_ok("a"), "status": "done"}, "status must be one of"),
    ({**_ok("a"), "key": ""}, "key must be a non-empty string"),
    ({"key": "a", "status": "failed"}, "failed row needs a non-empty error"),
])
def test_append_validates_rows(store, row, match):
    with pytest.raises(StoreError, match=match):
        store.append(row)
    assert len(store) == 0


def test_read_only_handle_and_bad_schemas(store, tmp_path):
    with pytest.raises(StoreError, match="read-only"):
        ResultStore.read(tmp_path / "s.h5").append(_ok("a"))
    with pytest.raises(StoreError, match="reserved"):
        ResultStore.open(tmp_path / "t.h5", columns={"status": "str"}, fingerprint="x")
    with pytest.raises(StoreError, match="allowed"):
        ResultStore.open(tmp_path / "t.h5", columns={"a": "float32"}, fingerprint="x")
    with pytest.raises(StoreError, match="identifiers"):
        ResultStore.open(tmp_path / "t.h5", columns={"a/b": "str"}, fingerprint="x")
    with pytest.raises(StoreError, match="does not exist"):
        ResultStore.read(tmp_path / "missing.h5")
    with pytest.raises(StoreError, match="no columns"):
        store.to_dict_of_arrays(["nope"])
    assert not (tmp_path / "t.h5").exists()


def test_error_types_and_fingerprint():
    assert issubclass(StoreError, XbarError) and issubclass(StoreError, ValueError)
    assert fingerprint("a", {"x": 1, "y": 2}) == fingerprint("a", {"y": 2, "x": 1})
    assert fingerprint("a", "b") != fingerprint("ab") != fingerprint(b"ab")
