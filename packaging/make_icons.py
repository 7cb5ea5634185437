"""Render resources/icons/xrayview.svg to the icon files installers need.

    python packaging/make_icons.py OUT_DIR

Writes OUT_DIR/xrayview-{16,32,48,64,128,256,512}.png (Qt's SVG renderer), xrayview.ico
(Windows, from the PNGs) and xrayview.icns (macOS), using Pillow for the containers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256, 512)
ROOT = Path(__file__).resolve().parents[1]


def render_pngs(svg: Path, out: Path) -> list[Path]:
    """One transparent PNG per size in SIZES."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot render {svg}")
    paths = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        path = out / f"xrayview-{size}.png"
        if not image.save(str(path)):
            raise SystemExit(f"cannot write {path}")
        paths.append(path)
    return paths


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "icons")
    out.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(ROOT / "resources" / "icons" / "xrayview.svg", out)
    from PIL import Image

    big = Image.open(pngs[-1])
    big.save(out / "xrayview.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    big.save(out / "xrayview.icns")
    print(f"icons written to {out}")


if __name__ == "__main__":
    main()
