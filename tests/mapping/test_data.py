"""Tests of mapping.data: digits split, MNIST IDX and CIFAR-10 batch readers, batching.

MNIST and CIFAR-10 are never downloaded here: tiny files in the real formats are written to
``tmp_path`` by the writers below and read back, so the loaders' parsing and pixel layout are
checked exactly and the malformed-file cases are cheap.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from crossbar.errors import ConfigError, InputError, ShapeError
from mapping.data import (
    DATASET_NAMES,
    Dataset,
    _stratified_split,
    batches,
    load_cifar10,
    load_dataset,
    load_digits,
    load_mnist,
)

_N_DIGITS = 1797
_DIGITS_PER_CLASS = np.array([178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
"""Class sizes of scikit-learn's digits (sum 1797)."""


# --------------------------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    return bunch.images.astype(np.float64), bunch.target.astype(np.int64)


def test_digits_shapes_dtypes_and_range():
    ds = load_digits()
    assert ds.name == "digits" and ds.n_classes == 10 and "load_digits" in ds.source
    assert ds.x_train.shape == (1346, 1, 8, 8) and ds.x_test.shape == (451, 1, 8, 8)
    assert ds.y_train.shape == (1346,) and ds.y_test.shape == (451,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert (ds.n_train, ds.n_test, ds.sample_shape) == (1346, 451, (1, 8, 8))
    for x in (ds.x_train, ds.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        # values are the original 0..16 counts divided by 16, exactly representable in float32
        np.testing.assert_array_equal(x * 16, np.rint(x * 16))


def test_digits_split_is_stratified_by_the_documented_rule():
    ds = load_digits(test_fraction=0.25)
    n_test = np.floor(0.25 * _DIGITS_PER_CLASS + 0.5).astype(np.int64)
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), n_test)
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), _DIGITS_PER_CLASS - n_test)
    half = load_digits(test_fraction=0.5)
    np.testing.assert_array_equal(
        np.bincount(half.y_test, minlength=10), np.floor(0.5 * _DIGITS_PER_CLASS + 0.5).astype(np.int64)
    )


def test_digits_split_covers_every_sample_once(digits_raw):
    images, labels = digits_raw
    train_idx, test_idx = _stratified_split(labels, test_fraction=0.25, seed=0)
    assert np.intersect1d(train_idx, test_idx).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(_N_DIGITS))
    # and the public loader returns exactly those samples, in file order within each split
    ds = load_digits(test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(ds.x_train[:, 0] * 16, images[train_idx])
    np.testing.assert_array_equal(ds.x_test[:, 0] * 16, images[test_idx])
    np.testing.assert_array_equal(ds.y_train, labels[train_idx])
    np.testing.assert_array_equal(ds.y_test, labels[test_idx])


def test_digits_split_is_deterministic_per_seed(seed):
    a, b = load_digits(seed=seed), load_digits(seed=seed)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = load_digits(seed=seed + 1)
    labels = np.concatenate([a.y_train, a.y_test])
    idx_a = _stratified_split(labels, test_fraction=0.25, seed=seed)[1]
    idx_c = _stratified_split(labels, test_fraction=0.25, seed=seed + 1)[1]
    assert not np.array_equal(idx_a, idx_c)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"test_fraction": -0.1}, "test_fraction"),
        ({"test_fraction": True}, "test_fraction"),
        ({"test_fraction": "0.25"}, "test_fraction"),
        ({"test_fraction": 1e-4}, "test split empty"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_digits_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_digits(**kwargs)


# --------------------------------------------------------------------------------------------
# Dataset container
# --------------------------------------------------------------------------------------------


def _toy(**overrides) -> Dataset:
    fields = dict(
        x_train=np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) / 24,
        y_train=np.array([0, 2]),
        x_test=np.zeros((1, 3, 2, 2), np.float32),
        y_test=np.array([1]),
        n_classes=3,
        name="toy",
        source="test",
    )
    fields.update(overrides)
    return Dataset(**fields)


def test_flat_is_a_c_order_copy():
    ds = _toy()
    flat = ds.flat()
    assert flat.x_train.shape == (2, 12) and flat.x_test.shape == (1, 12) and flat.sample_shape == (12,)
    c, r, col = 2, 1, 0
    np.testing.assert_array_equal(flat.x_train[:, c * 4 + r * 2 + col], ds.x_train[:, c, r, col])
    flat.x_train[:] = -1.0
    flat.y_train[:] = 0
    assert ds.x_train.min() >= 0.0 and ds.y_train[1] == 2  # the original is untouched
    assert (flat.name, flat.source, flat.n_classes) == (ds.name, ds.source, ds.n_classes)
    assert flat.flat().x_train.shape == (2, 12)


def test_dataset_is_frozen():
    ds = _toy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"x_train": np.zeros((2, 3, 2, 2))}, InputError, "x_train must be a float32"),
        ({"y_test": np.array([1], dtype=np.int32)}, InputError, "y_test must be an int64"),
        ({"y_train": [0, 2]}, InputError, "y_train must be an int64"),
        ({"y_train": np.array([0, 3])}, InputError, r"\[0, 3\)"),
        ({"y_test": np.array([-1])}, InputError, "y_test must lie in"),
        ({"y_train": np.array([0, 1, 2])}, ShapeError, "same number of samples"),
        ({"y_train": np.zeros((2, 1), np.int64)}, ShapeError, "1-D"),
        ({"x_test": np.zeros(1, np.float32)}, ShapeError, "x_test"),
        ({"x_test": np.zeros((1, 3, 2, 3), np.float32)}, ShapeError, "same sample shape"),
        ({"n_classes": 0}, ConfigError, "n_classes"),
        ({"n_classes": 3.0}, ConfigError, "n_classes"),
    ],
)
def test_dataset_rejects_inconsistent_fields(overrides, error, match):
    with pytest.raises(error, match=match):
        _toy(**overrides)


# --------------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------------

_MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _idx_bytes(array: np.ndarray, *, magic: bytes | None = None) -> bytes:
    """Encode a uint8 array in the IDX format (big-endian int32 dimensions)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    return header + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


def _write(path: Path, payload: bytes, *, gz: bool) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.fixture
def mnist_arrays(rng) -> dict[str, np.ndarray]:
    """5 training and 3 test 28x28 images with labels; both pixel extremes occur."""
    train = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    train[0, 0, 0], train[4, 27, 27], test[2, 13, 7] = 0, 255, 255
    return {
        "train_images": train,
        "train_labels": np.array([7, 0, 9, 3, 3], np.uint8),
        "test_images": test,
        "test_labels": np.array([9, 1, 0], np.uint8),
    }


def _write_mnist(directory: Path, arrays: dict[str, np.ndarray], *, gz: tuple[str, ...] = ()) -> None:
    for key, name in _MNIST_NAMES.items():
        _write(directory / name, _idx_bytes(arrays[key]), gz=key in gz)


@pytest.mark.parametrize("gz", [(), ("train_images", "test_labels"), tuple(_MNIST_NAMES)])
def test_mnist_round_trip_is_exact(tmp_path, mnist_arrays, gz):
    _write_mnist(tmp_path, mnist_arrays, gz=gz)
    ds = load_mnist(tmp_path)
    assert ds.name == "mnist" and ds.n_classes == 10 and "LeCun" in ds.source
    assert ds.x_train.shape == (5, 1, 28, 28) and ds.x_test.shape == (3, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    for split in ("train", "test"):
        images = mnist_arrays[f"{split}_images"]
        x = getattr(ds, f"x_{split}")
        np.testing.assert_array_equal(x[:, 0], images.astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(np.rint(x[:, 0] * 255).astype(np.uint8), images)
        np.testing.assert_array_equal(getattr(ds, f"y_{split}"), mnist_arrays[f"{split}_labels"])
    assert ds.x_train[0, 0, 0, 0] == 0.0 and ds.x_train[4, 0, 27, 27] == 1.0 and ds.x_test[2, 0, 13, 7] == 1.0


def test_mnist_limit_keeps_the_first_samples(tmp_path, mnist_arrays):
    _write_mnist(tmp_path, mnist_arrays, gz=("test_images",))
    full = load_mnist(tmp_path)
    ds = load_mnist(str(tmp_path), limit=2)
    assert (ds.n_train, ds.n_test) == (2, 2) and "first 2 samples" in ds.source
    np.testing.assert_array_equal(ds.x_train, full.x_train[:2])
    np.testing.assert_array_equal(ds.y_test, full.y_test[:2])
    big = load_mnist(tmp_path, limit=100)
    assert (big.n_train, big.n_test) == (5, 3)


def test_mnist_prefers_the_uncompressed_file(tmp_path, mnist_arrays):
    _write_mnist(tmp_path, mnist_arrays)
    _write(tmp_path / _MNIST_NAMES["train_labels"], _idx_bytes(np.zeros(5, np.uint8)), gz=True)
    np.testing.assert_array_equal(load_mnist(tmp_path).y_train, mnist_arrays["train_labels"])


def test_mnist_missing_file_names_directory_and_file(tmp_path, mnist_arrays):
    _write_mnist(tmp_path, mnist_arrays)
    (tmp_path / _MNIST_NAMES["test_labels"]).unlink()
    with pytest.raises(InputError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "t10k-labels-idx1-ubyte" in message
    assert "train-labels-idx1-ubyte," not in message.split("Expected")[0]  # only the missing one
    assert "nothing is downloaded" in message


def test_mnist_missing_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def _corrupt_header(byte: int, value: int):
    def edit(payload: bytes) -> bytes:
        return payload[:byte] + bytes([value]) + payload[byte + 1 :]

    return edit


@pytest.mark.parametrize(
    ("key", "edit", "match"),
    [
        ("train_images", _corrupt_header(0, 1), "magic number"),
        ("test_labels", _corrupt_header(1, 8), "magic number"),
        ("train_labels", _corrupt_header(2, 0x0B), "dtype code 0x0b"),
        ("test_images", _corrupt_header(3, 2), "dimensions"),
        ("train_images", lambda p: p[:-1], "truncated"),
        ("test_labels", lambda p: p[:6], "truncated"),
        ("train_labels", lambda p: p[:2], "truncated"),
        ("test_images", lambda p: p + b"\x00", "trailing bytes"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_malformed_header_or_length(tmp_path, mnist_arrays, key, edit, match, gz):
    _write_mnist(tmp_path, mnist_arrays)
    path = tmp_path / _MNIST_NAMES[key]
    payload = edit(path.read_bytes())
    path.unlink()
    written = _write(path, payload, gz=gz)
    with pytest.raises(InputError, match=match) as info:
        load_mnist(tmp_path)
    assert str(written) in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "bad_file", "match"),
    [
        ("train_labels", np.array([1, 2, 3, 4], np.uint8), "train-images-idx3-ubyte", "5 images but"),
        ("test_labels", np.array([1, 10, 2], np.uint8), "t10k-labels-idx1-ubyte", "outside 0..9"),
        ("test_images", np.zeros((3, 27, 28), np.uint8), "t10k-images-idx3-ubyte", "27x28"),
    ],
)
def test_mnist_inconsistent_content(tmp_path, mnist_arrays, key, value, bad_file, match):
    _write_mnist(tmp_path, {**mnist_arrays, key: value})
    with pytest.raises(InputError, match=match) as info:
        load_mnist(tmp_path)
    assert str(tmp_path / bad_file) in str(info.value)


def test_mnist_corrupt_gzip_names_the_file(tmp_path, mnist_arrays):
    _write_mnist(tmp_path, mnist_arrays)
    path = tmp_path / _MNIST_NAMES["train_images"]
    gz_path = _write(path, path.read_bytes(), gz=True)
    path.unlink()
    gz_path.write_bytes(gz_path.read_bytes()[:40])  # a cut gzip stream
    with pytest.raises(InputError, match="gzip") as info:
        load_mnist(tmp_path)
    assert str(gz_path) in str(info.value)
    gz_path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=re.escape(str(gz_path))):
        load_mnist(tmp_path)


@pytest.mark.parametrize("limit", [0, -3, 2.0, True, "5"])
def test_mnist_rejects_bad_limit(tmp_path, limit):
    with pytest.raises(ConfigError, match="limit"):
        load_mnist(tmp_path, limit=limit)


def test_mnist_rejects_non_path_directory():
    with pytest.raises(ConfigError, match="directory"):
        load_mnist(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------

_CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
_PER_BATCH = 4


def _write_batch(path: Path, batch: object, *, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=protocol)


@pytest.fixture
def cifar_batches(rng) -> dict[str, dict[bytes, object]]:
    """Six batches of 4 random images; batch ``k`` holds labels ``(k + j) % 10``."""
    out = {}
    for k, name in enumerate(_CIFAR_FILES):
        data = rng.integers(0, 256, size=(_PER_BATCH, 3072), dtype=np.uint8)
        out[name] = {
            b"batch_label": name.encode(),
            b"data": data,
            b"labels": [(k + j) % 10 for j in range(_PER_BATCH)],
            b"filenames": [f"img_{k}_{j}.png".encode() for j in range(_PER_BATCH)],
        }
    return out


def _write_cifar(directory: Path, batches_: dict[str, dict[bytes, object]], *, protocol: int = 4) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, batch in batches_.items():
        _write_batch(directory / name, batch, protocol=protocol)


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


# --------------------------------------------------------------------------------------------
# load_dataset
# --------------------------------------------------------------------------------------------


def test_load_dataset_dispatches(tmp_path, mnist_arrays, cifar_batches):
    assert DATASET_NAMES == ("digits", "mnist", "cifar10")
    digits = load_dataset("digits", seed=3)
    np.testing.assert_array_equal(digits.y_test, load_digits(seed=3).y_test)
    small = load_dataset("digits", limit=10)
    assert (small.n_train, small.n_test) == (10, 10)
    np.testing.assert_array_equal(small.x_train, load_digits().x_train[:10])
    (tmp_path / "mnist").mkdir()
    _write_mnist(tmp_path / "mnist", mnist_arrays)
    assert load_dataset("mnist", directory=tmp_path / "mnist", limit=4).n_train == 4
    _write_cifar(tmp_path / "cifar", cifar_batches)
    assert load_dataset("cifar10", directory=tmp_path / "cifar").x_test.shape == (4, 3, 32, 32)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("imagenet", {}, "must be one of"),
        ("MNIST", {"directory": "."}, "lower-case"),
        ("mnist", {}, "needs directory"),
        ("cifar10", {"limit": 5}, "needs directory"),
        ("digits", {"directory": "."}, "must be None for 'digits'"),
        ("digits", {"limit": 0}, "limit"),
    ],
)
def test_load_dataset_rejects_bad_requests(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset(name, **kwargs)


# --------------------------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------------------------


def _xy(n: int = 23) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3), np.arange(n)


def test_batches_in_order_are_views_covering_everything():
    x, y = _xy()
    got = list(batches(x, y, batch_size=5))
    assert [len(yb) for _, yb in got] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), y)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), x)
    assert all(np.shares_memory(xb, x) for xb, _ in got)


def test_batches_shuffled_cover_each_sample_once_per_epoch(rng):
    x, y = _xy()
    for _ in range(3):  # several epochs from one generator
        got = list(batches(x, y, batch_size=4, rng=rng))
        assert [len(yb) for _, yb in got] == [4, 4, 4, 4, 4, 3]
        seen = np.concatenate([yb for _, yb in got])
        np.testing.assert_array_equal(np.sort(seen), y)
        for xb, yb in got:  # pairs stay aligned
            np.testing.assert_array_equal(xb, x[yb])


def test_batches_are_deterministic_per_seed(seed):
    x, y = _xy(50)

    def order(s: int, epochs: int = 2) -> np.ndarray:
        gen = np.random.default_rng(s)
        return np.concatenate([yb for _ in range(epochs) for _, yb in batches(x, y, batch_size=7, rng=gen)])

    np.testing.assert_array_equal(order(seed), order(seed))
    assert not np.array_equal(order(seed), order(seed + 1))
    first, second = order(seed)[:50], order(seed)[50:]
    assert not np.array_equal(first, second)  # each epoch draws a fresh permutation


def test_batches_edge_sizes():
    x, y = _xy(3)
    assert [len(yb) for _, yb in batches(x, y, batch_size=10)] == [3]
    assert list(batches(x[:0], y[:0], batch_size=2)) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ConfigError, "batch_size"),
        ({"batch_size": -2}, ConfigError, "batch_size"),
        ({"batch_size": 2.0}, ConfigError, "batch_size"),
        ({"batch_size": True}, ConfigError, "batch_size"),
        ({"batch_size": 2, "rng": 0}, ConfigError, "Generator"),
        ({"batch_size": 2, "rng": np.random.RandomState(0)}, ConfigError, "Generator"),
    ],
)
def test_batches_rejects_bad_arguments_at_call_time(kwargs, error, match):
    x, y = _xy()
    with pytest.raises(error, match=match):
        batches(x, y, **kwargs)  # no next(): errors must not wait for iteration


def test_batches_rejects_mismatched_lengths():
    x, y = _xy()
    with pytest.raises(ShapeError, match="leading"):
        batches(x, y[:-1], batch_size=2)
    with pytest.raises(ShapeError, match="leading"):
        batches(np.float32(1.0), y, batch_size=2)
