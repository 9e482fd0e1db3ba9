"""The torch bridge: crossbar layers, ``convert``, modes, noise-aware training, bit-slice L1.

This subpackage is the only part of ``mapping`` that imports torch.

Threading: Numba's default OpenMP layer and torch's own OpenMP runtime spin-wait against each
other on small machines (measured here: training steps intermittently 100x slower after a
hardware-mode forward). Importing this package therefore selects Numba's ``workqueue`` layer,
unless ``NUMBA_THREADING_LAYER`` is set or a Numba parallel kernel has already run. The
workqueue layer must not be entered from several Python threads at once; to run hardware-mode
forwards from concurrent threads, set ``NUMBA_THREADING_LAYER=omp`` (or ``tbb``).
"""

import os as _os

import numba as _numba

if "NUMBA_THREADING_LAYER" not in _os.environ:
    from numba.np.ufunc import parallel as _parallel

    if not getattr(_parallel, "_is_initialized", True):
        _numba.config.THREADING_LAYER = "workqueue"

from mapping.nn.convert import (
    convert,
    crossbar_layers,
    load_state,
    reconfigure,
    reseed,
    save_state,
    set_hardware_grad,
    set_mode,
)
from mapping.nn.modules import MODES, CrossbarConv2d, CrossbarLinear

__all__ = [
    "MODES",
    "CrossbarConv2d",
    "CrossbarLinear",
    "convert",
    "crossbar_layers",
    "load_state",
    "reconfigure",
    "reseed",
    "save_state",
    "set_hardware_grad",
    "set_mode",
]
