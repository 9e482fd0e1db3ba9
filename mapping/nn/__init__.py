"""The torch bridge: crossbar layers, ``convert``, modes, noise-aware training, bit-slice L1.

This subpackage is the only part of ``mapping`` that imports torch.
"""

from mapping.nn.convert import (
    convert,
    crossbar_layers,
    load_state,
    reconfigure,
    reseed,
    save_state,
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
    "set_mode",
]
