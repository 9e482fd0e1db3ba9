"""Tests of mapping.data.cifar10: the batch reader on tiny pickles written by ``_format_writers``.

The pixel layout is checked against explicit index arithmetic; malformed, foreign or unsafe
pickles name the file.
"""

from __future__ import annotations

import os
import pickle
import re

import numpy as np
import pytest
from _format_writers import _CIFAR_FILES, _PER_BATCH, _write_cifar

from crossbar.errors import InputError
from mapping.data import load_cifar10


def _expected_nchw(data: np.ndarray) -> np.ndarray:
    """Reference layout by explicit index arithmetic: data[i, c*1024 + r*32 + col] -> [i, c, r, col]."""
    i, c, r, col = np.indices((data.shape[0], 3, 32, 32))
    return data[i, c * 1024 + r * 32 + col]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_round_trip_and_pixel_layout(tmp_path, cifar_batches, protocol):
    known = cifar_batches["data_batch_2"][b"data"]
    known[1, 1 * 1024 + 5 * 32 + 7] = 200  # G plane, row 5, col 7 of image 1 of batch 2
    known[1, 2 * 1024 + 0 * 32 + 31] = 17  # B plane, row 0, col 31
    known[1, 0 * 1024 + 31 * 32 + 0] = 255  # R plane, row 31, col 0
    _write_cifar(tmp_path, cifar_batches, protocol=protocol)
    ds = load_cifar10(tmp_path)
    assert ds.name == "cifar10" and ds.n_classes == 10 and "Krizhevsky" in ds.source
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    image = 1 * _PER_BATCH + 1  # image 1 of the second training batch
    assert ds.x_train[image, 1, 5, 7] == np.float32(200) / np.float32(255)
    assert ds.x_train[image, 2, 0, 31] == np.float32(17) / np.float32(255)
    assert ds.x_train[image, 0, 31, 0] == 1.0
    train_data = np.concatenate([cifar_batches[name][b"data"] for name in _CIFAR_FILES[:5]])
    np.testing.assert_array_equal(ds.x_train, _expected_nchw(train_data).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(
        np.rint(ds.x_test * 255).astype(np.uint8), _expected_nchw(cifar_batches["test_batch"][b"data"])
    )
    want_labels = np.concatenate([cifar_batches[name][b"labels"] for name in _CIFAR_FILES[:5]])
    np.testing.assert_array_equal(ds.y_train, want_labels)
    np.testing.assert_array_equal(ds.y_test, cifar_batches["test_batch"][b"labels"])


def test_cifar_reads_the_batches_subfolder_and_limit(tmp_path, cifar_batches):
    _write_cifar(tmp_path / "cifar-10-batches-py", cifar_batches)
    full = load_cifar10(tmp_path)
    assert "cifar-10-batches-py" in full.source
    direct = load_cifar10(tmp_path / "cifar-10-batches-py")
    np.testing.assert_array_equal(full.x_train, direct.x_train)
    ds = load_cifar10(tmp_path, limit=6)  # spans batches 1 and 2
    assert (ds.n_train, ds.n_test) == (6, 4)
    np.testing.assert_array_equal(ds.x_train, full.x_train[:6])
    np.testing.assert_array_equal(ds.y_train, full.y_train[:6])


def test_cifar_reads_legacy_numpy_module_names(tmp_path, cifar_batches):
    """Batches pickled by NumPy 1.x (Python 2 era) refer to numpy.core.multiarray._reconstruct."""
    _write_cifar(tmp_path, cifar_batches)
    path = tmp_path / "test_batch"
    payload = pickle.dumps(cifar_batches["test_batch"], protocol=2)
    legacy = payload.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n" in legacy
    path.write_bytes(legacy)
    ds = load_cifar10(tmp_path)
    np.testing.assert_array_equal(ds.y_test, cifar_batches["test_batch"][b"labels"])


def test_cifar_missing_files_name_directory_and_files(tmp_path, cifar_batches):
    _write_cifar(tmp_path, cifar_batches)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(InputError) as info:
        load_cifar10(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "lacks data_batch_3 (" in message
    assert "nothing is downloaded" in message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="data_batch_1, data_batch_2"):
        load_cifar10(empty)


def _replace(name: str, key: bytes, value: object):
    def edit(batches_: dict[str, dict[bytes, object]]) -> None:
        batches_[name] = {**batches_[name], key: value}

    return edit


def _drop(name: str, key: bytes):
    def edit(batches_: dict[str, dict[bytes, object]]) -> None:
        batches_[name] = {k: v for k, v in batches_[name].items() if k != key}

    return edit


@pytest.mark.parametrize(
    ("name", "edit", "match"),
    [
        ("data_batch_4", _drop("data_batch_4", b"labels"), "lacks the key"),
        ("test_batch", _drop("test_batch", b"data"), "lacks the key"),
        ("data_batch_1", _replace("data_batch_1", b"data", np.zeros((4, 3071), np.uint8)), r"\(4, 3071\)"),
        ("data_batch_2", _replace("data_batch_2", b"data", np.zeros(3072, np.uint8)), "expected"),
        ("data_batch_5", _replace("data_batch_5", b"data", np.zeros((4, 3072), np.float32)), "uint8"),
        ("data_batch_5", _replace("data_batch_5", b"data", [[0] * 3072] * 4), "uint8"),
        ("test_batch", _replace("test_batch", b"labels", [0, 1, 2]), "4 images but 3 labels"),
        ("data_batch_3", _replace("data_batch_3", b"labels", [0, 1, 10, 2]), "outside 0..9"),
        ("data_batch_3", _replace("data_batch_3", b"labels", [0, -1, 1, 2]), "outside 0..9"),
        ("data_batch_1", _replace("data_batch_1", b"labels", [0.0, 1.0, 2.0, 3.0]), "flat list of ints"),
        ("data_batch_2", _replace("data_batch_2", b"labels", [[0], [1, 2], [3], [4]]), "flat list of ints"),
        ("data_batch_2", _replace("data_batch_2", b"labels", [[0], [1], [3], [4]]), "flat list of ints"),
    ],
)
def test_cifar_malformed_batch_names_the_file(tmp_path, cifar_batches, name, edit, match):
    edit(cifar_batches)
    _write_cifar(tmp_path, cifar_batches)
    with pytest.raises(InputError, match=match) as info:
        load_cifar10(tmp_path)
    assert str(tmp_path / name) in str(info.value)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"this is not a pickle", "not a readable"),
        (pickle.dumps({b"data": os.getcwd, b"labels": []}), "refusing to load global"),
        (pickle.dumps([1, 2, 3]), "pickled list"),
    ],
)
def test_cifar_rejects_foreign_or_unsafe_pickles(tmp_path, cifar_batches, payload, match):
    _write_cifar(tmp_path, cifar_batches)
    (tmp_path / "data_batch_2").write_bytes(payload)
    with pytest.raises(InputError, match=match) as info:
        load_cifar10(tmp_path)
    assert str(tmp_path / "data_batch_2") in str(info.value)


def test_cifar_truncated_pickle_names_the_file(tmp_path, cifar_batches):
    _write_cifar(tmp_path, cifar_batches)
    path = tmp_path / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(InputError, match=re.escape(str(path))):
        load_cifar10(tmp_path)
