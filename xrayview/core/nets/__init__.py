"""Network architectures (nn.Module only; constructor arguments are the hyperparameters).

``ARCHITECTURES`` is an explicit name -> class table (no filename-scanning auto-import, so
PyInstaller can follow it).
"""

from __future__ import annotations

from xrayview.core.nets.dehaze import DehazeNet
from xrayview.core.nets.srcnn import SRCNN
from xrayview.core.nets.vdsr import VDSR

ARCHITECTURES = {"srcnn": SRCNN, "vdsr": VDSR, "dehaze": DehazeNet}

__all__ = ["ARCHITECTURES", "DehazeNet", "SRCNN", "VDSR"]
