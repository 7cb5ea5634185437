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


_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
            "#e377c2"]


_MARKERS = [
    lambda d, x, y, r, c: d.ellipse([x - r, y - r, x + r, y + r], fill=c),
    lambda d, x, y, r, c: d.rectangle([x - r, y - r, x + r, y + r], fill=c),
    lambda d, x, y, r, c: d.polygon([(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)],
                                    fill=c),
]


def learning_curve(series: dict[str, list[tuple[float, float]]], title: str,
                   x_label: str = "device-hours (CPU thread-hours or GPU-hours)",
                   y_label: str = "validation gain over bicubic (dB)",
                   size: tuple[int, int] = (900, 520)) -> Image.Image:
    """Line plot of each named series of (x, y) points, with axes, ticks and a legend.

    ``series``: label -> points (sorted by x); empty series are skipped. Past the eight
    colours, series are told apart by their markers (circle, square, triangle).
    """
    w, h = size
    left, right, top, bottom = 70, 250, 40, 50
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    d.text((left, 4), title, fill="black")
    pts = [p for s in series.values() for p in s]
    if not pts:
        d.text((left, h // 2), "no validation points yet", fill="black")
        return im
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = 0.0, max(max(xs), 1e-6) * 1.05
    y0, y1 = min(min(ys), 0.0), max(max(ys), 0.0)
    pad = (y1 - y0) * 0.08 or 0.5
    y0, y1 = y0 - pad, y1 + pad

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (w - left - right),
                h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom))

    d.rectangle([left, top, w - right, h - bottom], outline="black")
    for i in range(6):
        xv, yv = x0 + (x1 - x0) * i / 5, y0 + (y1 - y0) * i / 5
        px, _ = at(xv, y0)
        _, py = at(x0, yv)
        d.line([px, h - bottom, px, h - bottom + 4], fill="black")
        d.text((px - 12, h - bottom + 6), f"{xv:.2f}", fill="black")
        d.line([left - 4, py, left, py], fill="black")
        d.text((8, py - 6), f"{yv:+.2f}", fill="black")
    zero = at(x0, 0.0)[1]
    d.line([left, zero, w - right, zero], fill="#999999")
    d.text((left + (w - left - right) // 2 - 120, h - 20), x_label, fill="black")
    d.text((8, 22), y_label, fill="black")
    for i, (name, s) in enumerate(sorted((k, v) for k, v in series.items() if v)):
        colour = _COLOURS[i % len(_COLOURS)]
        marker = _MARKERS[i // len(_COLOURS) % len(_MARKERS)]
        line = [at(x, y) for x, y in s]
        if len(line) > 1:
            d.line(line, fill=colour, width=2)
        for px, py in line:
            marker(d, px, py, 3, colour)
        ly = top + 6 + 16 * i
        d.line([w - right + 10, ly + 6, w - right + 30, ly + 6], fill=colour, width=3)
        marker(d, w - right + 20, ly + 6, 4, colour)
        d.text((w - right + 36, ly), f"{name} ({s[-1][1]:+.2f})", fill="black")
    return im
