"""Data sets for the DNN side: digits (embedded default), MNIST IDX files and CIFAR-10 batches.

Every loader returns a :class:`Dataset` of float32 images in NCHW layout ``(n, channels, height,
width)`` scaled to ``[0, 1]`` and int64 class labels. Nothing is read at import time and nothing
is ever downloaded: MNIST and CIFAR-10 are read from a directory the user provides, and the
digits set ships with scikit-learn. This package is NumPy-only (no torch), like the rest of
``mapping``'s core.

The loaders, one module each, all re-exported here:

* :func:`load_digits` (:mod:`mapping.data.digits`): scikit-learn's embedded 8x8 digits with a
  fixed, seeded, stratified train/test split.
* :func:`load_mnist` (:mod:`mapping.data.mnist`): the four MNIST IDX files, plain or ``.gz``,
  parsed here.
* :func:`load_cifar10` (:mod:`mapping.data.cifar10`): the CIFAR-10 "python version" batches, read
  with a restricted unpickler.
* :func:`load_dataset` (:mod:`mapping.data.dispatch`): any of the above by name
  (:data:`DATASET_NAMES`).

:class:`Dataset` and the argument checks shared by the loaders live in
:mod:`mapping.data._dataset`; :func:`batches` (mini-batch iteration) in
:mod:`mapping.data.batching`.

References:
    * Digits: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
      Learning Repository, 1998 (the test part, as embedded in ``sklearn.datasets.load_digits``).
    * MNIST: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
      document recognition", Proc. IEEE 86(11):2278-2324, 1998. IDX format described at
      http://yann.lecun.com/exdb/mnist/.
    * CIFAR-10: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", tech.
      report, University of Toronto, 2009 ("python version" batches from
      https://www.cs.toronto.edu/~kriz/cifar.html).
"""

from __future__ import annotations

from ._dataset import _NO_DOWNLOAD as _NO_DOWNLOAD
from ._dataset import Dataset, is_fraction
from ._dataset import _check_directory as _check_directory
from ._dataset import _check_limit as _check_limit
from ._dataset import _check_split as _check_split
from ._dataset import _limited_source as _limited_source
from ._dataset import _stratified_split as _stratified_split
from .batching import _iterate as _iterate
from .batching import batches
from .cifar10 import _CIFAR_CHANNELS as _CIFAR_CHANNELS
from .cifar10 import _CIFAR_SIDE as _CIFAR_SIDE
from .cifar10 import _CIFAR_SUBFOLDER as _CIFAR_SUBFOLDER
from .cifar10 import _CIFAR_TEST as _CIFAR_TEST
from .cifar10 import _CIFAR_TRAIN as _CIFAR_TRAIN
from .cifar10 import _UNPICKLE_ERRORS as _UNPICKLE_ERRORS
from .cifar10 import _BatchUnpickler as _BatchUnpickler
from .cifar10 import _numpy_pickle_names as _numpy_pickle_names
from .cifar10 import _read_cifar_batch as _read_cifar_batch
from .cifar10 import load_cifar10
from .digits import load_digits
from .dispatch import DATASET_NAMES, load_dataset
from .mnist import _IDX_UINT8 as _IDX_UINT8
from .mnist import _MNIST_FILES as _MNIST_FILES
from .mnist import _MNIST_SIDE as _MNIST_SIDE
from .mnist import _read_bytes as _read_bytes
from .mnist import _read_idx as _read_idx
from .mnist import load_mnist

__all__ = [
    "DATASET_NAMES",
    "Dataset",
    "batches",
    "is_fraction",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_mnist",
]
