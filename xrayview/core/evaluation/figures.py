"""Comparison figures for evaluation reports (Pillow only; no plotting library needed).

Panels are float32 (H, W) arrays in [0, 1]; a signed difference in [-r, r] is drawn with a
blue-white-red diverging map symmetric about zero.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

LABEL_HEIGHT = 18


def to_gray8(img: np.ndarray, magnify: int = 1) -> Image.Image:
    """(H, W) float in [0, 1] -> 8-bit grayscale image, magnified by pixel repetition."""
    a = np.clip(np.asarray(img, dtype=np.float64), 0, 1)
    im = Image.fromarray(np.round(a * 255).astype(np.uint8), mode="L").convert("RGB")
    return im.resize((im.width * magnify, im.height * magnify), Image.NEAREST) if magnify > 1 else im


def diverging(diff: np.ndarray, limit: float, magnify: int = 1) -> Image.Image:
    """Signed (H, W) -> RGB: blue for negative, white at zero, red for positive (+-limit)."""
    t = np.clip(np.asarray(diff, dtype=np.float64) / max(limit, 1e-12), -1, 1)
    r = np.where(t < 0, 1 + t, 1.0)
    b = np.where(t > 0, 1 - t, 1.0)
    g = 1 - np.abs(t)
    rgb = np.round(np.stack([r, g, b], -1) * 255).astype(np.uint8)
    im = Image.fromarray(rgb, mode="RGB")
    return im.resize((im.width * magnify, im.height * magnify), Image.NEAREST) if magnify > 1 else im


def _labelled(im: Image.Image, label: str) -> Image.Image:
    out = Image.new("RGB", (im.width, im.height + LABEL_HEIGHT), "white")
    out.paste(im, (0, LABEL_HEIGHT))
    ImageDraw.Draw(out).text((3, 3), label, fill="black")
    return out


def panel_row(panels: list[tuple[str, Image.Image]], gap: int = 4) -> Image.Image:
    """Place labelled panels side by side on a white background."""
    tiles = [_labelled(im, label) for label, im in panels]
    w = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
    h = max(t.height for t in tiles)
    out = Image.new("RGB", (w, h), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + gap
    return out


def stack_rows(rows: list[Image.Image], title: str = "", gap: int = 6) -> Image.Image:
    """Rows one above the other, with an optional title line."""
    top = LABEL_HEIGHT if title else 0
    w = max(r.width for r in rows)
    h = top + sum(r.height for r in rows) + gap * (len(rows) - 1)
    out = Image.new("RGB", (w, h), "white")
    if title:
        ImageDraw.Draw(out).text((3, 3), title, fill="black")
    y = top
    for r in rows:
        out.paste(r, (0, y))
        y += r.height + gap
    return out


def most_detailed_box(img: np.ndarray, size: int, border: int) -> tuple[int, int]:
    """Top-left of the ``size`` square (inside ``border``) with the most gradient energy."""
    gy, gx = np.gradient(np.asarray(img, dtype=np.float64))
    e = np.hypot(gx, gy)
    h, w = e.shape
    best, pos = -1.0, (border, border)
    step = max(size // 4, 1)
    for y in range(border, max(h - border - size, border) + 1, step):
        for x in range(border, max(w - border - size, border) + 1, step):
            v = float(e[y:y + size, x:x + size].sum())
            if v > best:
                best, pos = v, (y, x)
    return pos


def sr_comparison(images: dict[str, np.ndarray], scores: dict[str, dict[str, float]],
                  title: str, crop: int = 128, magnify: int = 3, border: int = 12) -> Image.Image:
    """Original / bicubic / each method / (best method - bicubic) difference, on one crop."""
    y, x = most_detailed_box(images["original"], crop, border)
    sl = (slice(y, y + crop), slice(x, x + crop))
    panels = [("original", to_gray8(images["original"][sl], magnify))]
    for name, img in images.items():
        if name == "original":
            continue
        s = scores.get(name, {})
        label = f"{name} {s.get('psnr', float('nan')):.2f} dB" if s else name
        panels.append((label, to_gray8(img[sl], magnify)))
    last = [n for n in images if n not in ("original", "bicubic")]
    if last:
        diff = images[last[-1]][sl] - images["bicubic"][sl]
        lim = float(np.percentile(np.abs(diff), 99.5)) or 1e-3
        panels.append((f"{last[-1]} - bicubic (+-{lim:.3f})", diverging(diff, lim, magnify)))
    return stack_rows([panel_row(panels)], title=title)
