"""Time and memory of the command line on issue 17's hostile inputs, per class.

Each case runs ``python -m xrayview ...`` in its own process under ``/usr/bin/time`` and
a 120 s safety timeout; the table gives, per class, the largest wall time and peak RSS
over its cases, the largest peak RSS growth over the same subcommand on a small good PNG
(``info``, or ``enhance --model none``, which imports torch), and the exit codes seen.
The inputs are generated in a temporary folder (nothing is kept).

    python scripts/measure_hostile_inputs.py [--json FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.corpus_dicom import deflated_dicom  # noqa: E402
from tests.support.model_factory import make_models_dir  # noqa: E402

LIMIT_FSIZE = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_FSIZE, "
               "(4096, 4096)); sys.argv[0] = 'xrayview'; runpy.run_module('xrayview', "
               "run_name='__main__')")


def run(args: list[str], env: dict | None = None, code: str | None = None) -> dict:
    """Exit code, wall and CPU (user + system) seconds and peak RSS (MB) of one run."""
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "xrayview",
                                                           *args]
    with tempfile.NamedTemporaryFile("r") as stats:
        try:
            proc = subprocess.run(["/usr/bin/time", "-o", stats.name, "-f", "%e %U %S %M", *cmd],
                                  cwd=ROOT, capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        except subprocess.TimeoutExpired:
            return {"rc": "HANG", "seconds": 120.0, "cpu": None, "rss_mb": None, "stderr": ""}
        fields = stats.read().split()[-4:]
    return {"rc": proc.returncode, "seconds": float(fields[0]),
            "cpu": float(fields[1]) + float(fields[2]), "rss_mb": int(fields[3]) / 1024,
            "stderr": proc.stderr.strip().splitlines()[-1:] if proc.stderr else []}


def _png(path: Path, shape=(64, 64), **save) -> Path:
    Image.fromarray(np.random.default_rng(0).integers(0, 250, shape, np.uint8)).save(path, **save)
    return path


def cases(tmp: Path) -> dict[str, list[tuple[list[str], dict | None, str | None]]]:
    """Class -> [(arguments, environment, python -c code or None)]."""
    import tifffile

    good = _png(tmp / "good.png")
    out = lambda name: str(tmp / name)  # noqa: E731
    fifo = tmp / "pipe.png"
    os.mkfifo(fifo)
    fifo_models = make_models_dir(tmp / "fifo_models", archs=("vdsr",))
    (fifo_models / "vdsr.pt").unlink()
    os.mkfifo(fifo_models / "vdsr.pt")
    huge = make_models_dir(tmp / "huge_models", archs=("vdsr",))
    data = json.loads((huge / "manifest.json").read_text())
    data["models"]["vdsr"]["kwargs"]["depth"] = 10_000_000
    (huge / "manifest.json").write_text(json.dumps(data))
    nan = make_models_dir(tmp / "nan_models", archs=("vdsr",))
    import torch

    state = torch.load(nan / "vdsr.pt", weights_only=True)
    state["body.0.weight"].fill_(float("nan"))
    torch.save(state, nan / "vdsr.pt")
    data = json.loads((nan / "manifest.json").read_text())
    data["models"]["vdsr"]["sha256"] = hashlib.sha256((nan / "vdsr.pt").read_bytes()).hexdigest()
    (nan / "manifest.json").write_text(json.dumps(data))
    exif = Image.Exif()
    exif[0x0112] = 3
    oriented = _png(tmp / "o3.jpg", (48, 48), exif=exif.tobytes())
    tifffile.imwrite(tmp / "u32.tif", np.full((64, 64), 2**31 + 5, np.uint32))
    tifffile.imwrite(tmp / "f64.tif", np.zeros((64, 64)))
    tifffile.imwrite(tmp / "planar.tif", np.zeros((3, 64, 64), np.uint16), photometric="rgb",
                     planarconfig="separate")
    px = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    (tmp / "bomb.dcm").write_bytes(deflated_dicom(px, padding=2 << 30))
    Image.fromarray(np.zeros((10000, 10000), np.uint8)).save(tmp / "cap.png", optimize=True)
    small = _png(tmp / "small.png", (10, 10))
    thin = _png(tmp / "thin.png", (2, 100000))
    import pydicom

    from tests.support.dicom_factory import make_dicom

    ctl = make_dicom(tmp / "ctl.dcm", np.zeros((16, 16), np.uint16), WindowCenter=1,
                     WindowWidth=2, WindowCenterWidthExplanation="A\r\nPatient name: X\x1b[2J")
    big_endian = Path(pydicom.__file__).parent / "data" / "test_files" / "MR_small_bigendian.dcm"
    env = lambda root: {"XRAYVIEW_MODELS_DIR": str(root)}  # noqa: E731
    return {
        "non-regular (FIFO film, weights, manifest)": [
            (["info", str(fifo)], None, None),
            (["enhance", str(fifo), out("a.png"), "--model", "none"], None, None),
            (["enhance", str(good), out("b.png"), "--model", "vdsr"], env(fifo_models), None)],
        "pixels (orientation, uint32, planar 16-bit, float64, NaN weights)": [
            (["info", str(oriented)], None, None), (["info", str(tmp / "u32.tif")], None, None),
            (["info", str(tmp / "planar.tif")], None, None),
            (["info", str(tmp / "f64.tif")], None, None),
            (["enhance", str(good), out("c.png"), "--model", "vdsr"], env(nan), None)],
        "exit 2 (tiny films, nan options, full disk)": [
            (["enhance", str(small), out("d.png"), "--model", "none", "--scale", "1",
              "--dehaze-steps", "2"], None, None),
            (["enhance", str(thin), out("e.png"), "--model", "none", "--dehaze-steps", "2"],
             None, None),
            (["info", str(good), "--max-megapixels", "nan"], None, None),
            (["enhance", str(good), out("f.png"), "--model", "none", "--dehaze-steps", "1",
              "--stop-threshold", "nan", "--json"], None, None),
            (["enhance", str(good), out("g.dcm"), "--model", "none", "--scale", "4"], None,
             LIMIT_FSIZE)],
        "bounded reads (deflate bomb, 100 MP PNG x4, 10M-layer manifest)": [
            (["info", str(tmp / "bomb.dcm")], None, None),
            (["enhance", str(tmp / "bomb.dcm"), out("h.dcm"), "--model", "none"], None, None),
            (["enhance", str(tmp / "cap.png"), out("i.png"), "--model", "none", "--scale", "4"],
             None, None),
            (["enhance", str(good), out("j.png"), "--model", "vdsr"], env(huge), None)],
        "terminal (control characters)": [(["info", str(ctl)], None, None)],
        "exports (big-endian DICOM, 249-character name)": [
            (["enhance", str(big_endian), out("k.dcm"), "--model", "none"], None, None),
            (["enhance", str(good), out("n" * 245 + ".png"), "--model", "none"], None, None)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        good = _png(tmp / "base.png")
        base = {"info": run(["info", str(good)]),
                "enhance": run(["enhance", str(good), str(tmp / "base_out.png"), "--model",
                                "none"])}
        rows = []
        for name, runs in cases(tmp).items():
            results = [run(a, e, c) for a, e, c in runs]
            extra = [max(0.0, r["rss_mb"] - base[a[0]]["rss_mb"])
                     for (a, _, _), r in zip(runs, results) if r["rss_mb"] is not None]
            rss = [r["rss_mb"] for r in results if r["rss_mb"] is not None]
            rows.append({"class": name, "cases": len(results),
                         "max_seconds": max(r["seconds"] for r in results),
                         "max_cpu_seconds": max(r["cpu"] or 0 for r in results),
                         "max_rss_mb": max(rss) if rss else None,
                         "max_extra_mb": max(extra) if extra else None,
                         "exit_codes": sorted({str(r["rc"]) for r in results}),
                         "messages": [r["stderr"] for r in results]})
    for command, b in base.items():
        print(f"baseline: xrayview {command} on a 64 x 64 PNG: {b['seconds']:.2f} s "
              f"({b['cpu']:.2f} s CPU), {b['rss_mb']:.0f} MB")
    print("| class | cases | max wall s | max CPU s | max peak RSS MB | max extra MB | exit |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(f"| {r['class']} | {r['cases']} | {r['max_seconds']:.2f} | "
              f"{r['max_cpu_seconds']:.2f} | {r['max_rss_mb']:.0f} | {r['max_extra_mb']:.0f} | "
              f"{' '.join(r['exit_codes'])} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
