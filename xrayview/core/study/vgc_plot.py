"""``study summary --plot FILE``: the VGC curves of a summary as a PNG (Pillow only).

One panel per likert question: the diagonal (no difference), each condition's pooled VGC
curve (thick) and its readers' curves (thin, same colour), and a legend with AUC_VGC and
its 95% CI. Axes: fraction of reference (original) images rated >= t (x) and of the
condition's images (y). Written atomically (``atomic_write``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from xrayview.core.io.files import atomic_write
from xrayview.core.study.definition import StudyError

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14),
           (140, 86, 75), (227, 119, 194), (23, 190, 207)]
SIDE, MARGIN = 360, 60


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def render_vgc(summary: dict[str, Any]) -> Image.Image:
    """The figure of ``analysis.summarise``'s result (StudyError when it has no VGC)."""
    panels = [(qid, q["vgc"]) for qid, q in summary["questions"].items() if q.get("vgc")]
    if not panels:
        raise StudyError("no VGC to plot: VGC needs likert questions (single design) "
                         "with answers for the original and another condition.")
    width = len(panels) * (SIDE + 2 * MARGIN)
    legend = 50 + 18 * max(len(vgc) for _, vgc in panels)
    img = Image.new("RGB", (width, SIDE + 2 * MARGIN + legend), "white")
    draw = ImageDraw.Draw(img)
    small, normal = _font(12), _font(15)
    for p, (qid, vgc) in enumerate(panels):
        x0, y0 = p * (SIDE + 2 * MARGIN) + MARGIN, MARGIN

        def at(x: float, y: float) -> tuple[float, float]:
            return x0 + x * SIDE, y0 + (1 - y) * SIDE
        draw.rectangle([at(0, 1), at(1, 0)], outline="black")
        draw.line([at(0, 0), at(1, 1)], fill=(150, 150, 150), width=1)
        for t in (0.0, 0.25, 0.5, 0.75, 1.0):
            draw.line([at(t, 0), (at(t, 0)[0], at(t, 0)[1] + 4)], fill="black")
            draw.text((at(t, 0)[0] - 10, at(t, 0)[1] + 6), f"{t:g}", fill="black", font=small)
            draw.line([at(0, t), (at(0, t)[0] - 4, at(0, t)[1])], fill="black")
            draw.text((at(0, t)[0] - 34, at(0, t)[1] - 7), f"{t:g}", fill="black", font=small)
        draw.text((x0, y0 - 40), f"VGC: {qid}", fill="black", font=normal)
        draw.text((x0 + 150, y0 - 36), "thick: readers pooled, thin: each reader",
                  fill=(90, 90, 90), font=small)
        draw.text((x0, y0 + SIDE + 24), "reference (original): fraction rated >= t",
                  fill="black", font=small)
        draw.text((x0 - 55, y0 - 18), "condition: fraction rated >= t", fill="black",
                  font=small)
        for i, (cond, res) in enumerate(vgc.items()):
            colour = COLOURS[i % len(COLOURS)]
            light = tuple(int(c + (255 - c) * 0.55) for c in colour)
            for reader in res["readers"].values():
                draw.line([at(*pt) for pt in reader["curve"]], fill=light, width=1)
            pooled = res["pooled"]
            draw.line([at(*pt) for pt in pooled["curve"]], fill=colour, width=3)
            lo, hi = pooled["ci95"]
            ly = y0 + SIDE + 46 + 18 * i
            draw.line([(x0, ly + 7), (x0 + 24, ly + 7)], fill=colour, width=3)
            draw.text((x0 + 30, ly), f"{cond}: AUC {pooled['auc']:.3f} [{lo:.3f}, {hi:.3f}]",
                      fill="black", font=small)
    return img


def write_vgc_plot(summary: dict[str, Any], path: str | Path) -> int:
    """Write :func:`render_vgc` as a PNG to ``path`` atomically; returns the panel count.
    The caller checks ``path`` first (``outputs.check_output``)."""
    img = render_vgc(summary)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    data = buf.getvalue()
    atomic_write(Path(path), lambda fh: fh.write(data))
    return sum(1 for q in summary["questions"].values() if q.get("vgc"))
