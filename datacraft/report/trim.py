"""Trim the blank bottom of a full-page screenshot (``python -m datacraft.report.trim FILE.png``).

Headless Chromium captures a fixed window; `make report-screenshot` uses a very tall one and trims it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image


def trim_png(path: str | Path, margin: int = 24) -> tuple[int, int]:
    """Cut rows below the last non-background row (background: the bottom-left pixel); returns the new size."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    background = rgb[-1, 0]
    used = np.nonzero((rgb != background).any(axis=(1, 2)))[0]
    bottom = min(int(used[-1]) + 1 + margin, rgb.shape[0]) if len(used) else min(margin, rgb.shape[0])
    Image.fromarray(rgb[:bottom]).save(path, optimize=True)
    return rgb.shape[1], bottom


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        w, h = trim_png(arg)
        print(f"{arg}: {w}×{h}")
