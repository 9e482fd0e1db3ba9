"""Tests of mapping.data.mnist: the IDX reader on tiny files written by ``_format_writers``.

Round trips are exact; malformed headers, lengths, content and gzip streams name the file.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from _format_writers import _MNIST_NAMES, _idx_bytes, _write, _write_mnist

from crossbar.errors import ConfigError, InputError
from mapping.data import load_mnist


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
