"""Command line: ``xrayview [FILE ...]`` opens the viewer; subcommands do batch work.

Exit codes (DESIGN §4): 0 success, 2 bad input (one plain line on stderr, no traceback),
1 internal error. The GUI is imported lazily so every other subcommand runs without Qt.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, Sequence

from xrayview import __version__
from xrayview.commands import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, BadInput
from xrayview.core.enhance.stop_rule import METRIC_NAMES
from xrayview.core.models import registry

log = logging.getLogger("xrayview")

SUBCOMMANDS = ("gui", "info", "train", "enhance", "evaluate", "study", "bench")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xrayview",
        description="X-ray film viewer with super-resolution and dehazing. "
                    "For research and comparison, not for diagnosis.",
        epilog="Run without a subcommand to open the viewer: xrayview [FILE ...]",
    )
    p.add_argument("--version", action="version", version=f"xrayview {__version__}")
    p.add_argument("--self-test", action="store_true",
                   help="offline smoke test of the installation (used on the packaged app)")
    p.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("gui", help="open the viewer (the default)")
    g.add_argument("files", nargs="*", metavar="FILE", help="films to open")

    i = sub.add_parser("info", help="show what xrayview reads from a film")
    i.add_argument("file", metavar="FILE")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.add_argument("--frame", type=int, default=0, help="frame (DICOM) or page (TIFF), 0-based")
    i.add_argument("--max-megapixels", type=float, default=100.0,
                   help="refuse images larger than this (default 100)")
    i.add_argument("--show-identifiers", action="store_true",
                   help="also print patient name/ID and study/series UIDs (hidden by default)")
    _add_train_parser(sub)
    _add_evaluate_parser(sub)
    _add_enhance_parser(sub)
    _add_study_parser(sub)
    _add_bench_parser(sub)
    return p


def _add_evaluate_parser(sub) -> None:
    from xrayview.core.evaluation.methods import default_methods

    e = sub.add_parser("evaluate", help="bicubic vs SRCNN vs VDSR (+ dehazing) on test films",
                       description="The seed paper's comparison on the test split: CSV, "
                                   "markdown table, JSON summary and comparison figures.")
    e.add_argument("--data", required=True, help="corpus folder, e.g. ../shared/data/cxr")
    e.add_argument("--split", default="models/data_split.json", help="split file")
    e.add_argument("--subset", default="test", choices=["test", "val", "train"])
    e.add_argument("--scales", type=int, nargs="*", default=[2, 3, 4],
                   help="super-resolution scales; none to skip that comparison")
    e.add_argument("--methods", nargs="+", default=default_methods(),
                   help="methods besides bicubic (default: " + " ".join(default_methods())
                        + "): a model, optionally with -x8 (8-fold self-ensemble) and/or "
                        "+dehaze, e.g. vdsr-x8+dehaze")
    e.add_argument("--protocols", nargs="+", default=["clean"],
                   choices=["clean", "jpeg75", "jpeg90", "noisy"],
                   help="low-resolution inputs: clean bicubic; the low-resolution film saved "
                        "as JPEG at quality 75 or 90; Poisson-Gaussian noise at the corpus "
                        "median (default: clean)")
    e.add_argument("--weights", choices=["auto", "clean", "robust"], default="auto",
                   help="auto: robust weights (where a model has them) for the JPEG "
                        "protocols and for noisy inputs, as for such a film in the app; "
                        "clean or robust: always")
    e.add_argument("--out", default="evaluation", help="output folder")
    e.add_argument("--limit", type=int, default=None, help="at most N films (per dataset order)")
    e.add_argument("--films", nargs="+", default=None, metavar="FILM",
                   help="only these films of the subset (paths as in the split file, e.g. "
                        "nih-chestxray14/00006072_000.png)")
    e.add_argument("--crop", type=int, default=None,
                   help="score the central N x N region of each film (full resolution)")
    e.add_argument("--figures", type=int, default=3, help="comparison figures to draw")
    e.add_argument("--dehaze-strengths", type=float, nargs="*", default=[0.0, 0.3, 0.6, 1.0],
                   help="veil strengths for the dehazing evaluation (0 = clean films); "
                        "none to skip it")
    e.add_argument("--veil-families", nargs="+", default=["scatter"],
                   choices=["scatter", "atmospheric", "exposure"],
                   help="veil families for the dehazing evaluation (core.quality.veils)")
    e.add_argument("--dehaze-films", type=int, default=None,
                   help="dehazing evaluation on N films spread over the split (default all)")
    e.add_argument("--device", default="auto")


def _add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="train SRCNN, VDSR or the dehazer on chest films",
                       description="Train on the train split of --data (split file: "
                                   "models/data_split.json). Several GPUs or machines: run "
                                   "under torchrun --nproc_per_node=N -m xrayview train ...")
    t.add_argument("--arch", required=True, choices=registry.architecture_names())
    t.add_argument("--data", required=True, help="corpus folder, e.g. ../shared/data/cxr")
    t.add_argument("--split", default="models/data_split.json", help="split file")
    t.add_argument("--out", default="models", help="folder for weights and checkpoints")
    t.add_argument("--iterations", type=int, default=2000)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--patch", type=int, default=108, help="patch size, a multiple of 12")
    t.add_argument("--per-film", type=int, default=64, help="training patches per film")
    t.add_argument("--val-per-film", type=int, default=8, help="validation patches per film")
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--val-every", type=int, default=200)
    t.add_argument("--checkpoint-every", type=int, default=200,
                   help="iterations between resumable checkpoints")
    t.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    t.add_argument("--device", default="auto")
    t.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    t.add_argument("--resume", default=None,
                   help="checkpoint to continue from; 'auto': this run's last checkpoint "
                        "in <out>/checkpoints when there is one")
    t.add_argument("--init", default=None,
                   help="warm start from this weights file (ignored when resuming)")
    t.add_argument("--run-name", default=None,
                   help="name of checkpoints, learning curve and weights (default: --arch)")
    t.add_argument("--chunk-minutes", type=float, default=None,
                   help="stop resumably after this long (the schedule follows --iterations)")
    t.add_argument("--degradation", choices=["bicubic", "realistic", "lossy"],
                   default="bicubic",
                   help="super-resolution inputs: clean bicubic, realistic (blur, random "
                        "kernel, noise, JPEG) or lossy (random kernel, noise, JPEG: what the "
                        "robust weights serve); core.quality.realistic")
    t.add_argument("--sr-clean-fraction", type=float, default=0.3,
                   help="realistic, lossy: share of patches kept on the clean bicubic protocol")
    t.add_argument("--val-protocols", nargs="+", default=["clean"],
                   choices=["clean", "jpeg75", "jpeg90", "noisy"],
                   help="super-resolution validation protocols (gain per scale and protocol)")
    t.add_argument("--arch-kwargs", default="{}",
                   help='constructor arguments as JSON, e.g. \'{"proxy_size": 32}\'')
    t.add_argument("--mixed-precision", choices=["auto", "off"], default="auto",
                   help="auto: bf16 autocast where the CPU/GPU supports it")
    t.add_argument("--clean-fraction", type=float, default=0.2,
                   help="dehazer: share of training views left unveiled (0 <= f < 1)")
    t.add_argument("--veil-families", nargs="+", default=["scatter"],
                   choices=["scatter", "atmospheric", "exposure"],
                   help="dehazer: veil families to train on (one drawn per film); leave one "
                        "out to test on it unseen")
    t.add_argument("--unroll", type=int, default=1,
                   help="dehazer: loss averaged over this many successive steps")
    t.add_argument("--no-register", action="store_true",
                   help="do not record the weights in <out>/manifest.json")


def _fmt_number(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.6g}"


def _info_text(summary: dict[str, Any]) -> str:
    s = summary
    lines = [("File", s["path"])]
    fmt = s["format"] + (f" ({s['transfer_syntax']})" if s["transfer_syntax"] else "")
    lines.append(("Format", fmt))
    frames = f", frame {s['frame_index'] + 1} of {s['frames']}" if s["frames"] > 1 else ""
    lines.append(("Size", f"{s['columns']} x {s['rows']} pixels (columns x rows){frames}"))
    lines.append(("Bits stored", str(s["bits_stored"])))
    phot = s["photometric"] + (" (inverted on load)" if s["inverted_on_load"] else "")
    lines.append(("Photometric", phot))
    lines.append(("Modality", s["modality"] or "-"))
    lo, hi = s["value_range"]
    lines.append(("Value range", f"{_fmt_number(lo)} .. {_fmt_number(hi)} -> 0 .. 1"))
    if s["pixel_spacing_mm"]:
        r, c = s["pixel_spacing_mm"]
        lines.append(("Pixel spacing", f"{r:g} x {c:g} mm (row x column, {s['spacing_source']})"))
    else:
        lines.append(("Pixel spacing", "unknown"))
    if s["windows"]:
        for w in s["windows"]:
            label = f" ({w['explanation']})" if w["explanation"] else ""
            lines.append(("Window", f"centre {_fmt_number(w['center'])}, width "
                                    f"{_fmt_number(w['width'])}{label}"))
    else:
        lines.append(("Window", "none in file (full range)"))
    if s["voi_lut"]:
        lines.append(("VOI LUT", "yes (display preset)"))
    for note in s["notes"]:
        lines.append(("Note", note))
    for key, value in s.get("identifiers", {}).items():
        lines.append((key.replace("_", " ").capitalize(), value or "-"))
    from xrayview.core.io.errors import escape_control

    width = max(len(k) for k, _ in lines) + 2  # every value may come from the file
    return "\n".join(f"{k + ':':<{width}}{escape_control(v)}" for k, v in lines)


def _cmd_info(args: argparse.Namespace) -> int:
    from xrayview.commands import load_film_quietly

    import math

    if not (math.isfinite(args.max_megapixels) and 1e-6 <= args.max_megapixels <= 1e5):
        raise BadInput(f"--max-megapixels must be a number from 0.000001 (one pixel) to "
                       f"100000, not {args.max_megapixels:g}.")
    film = load_film_quietly(args.file, frame=args.frame,
                             max_pixels=max(1, round(args.max_megapixels * 1e6)))
    summary = film.summary()
    if args.show_identifiers:
        summary["identifiers"] = film.identifiers.as_dict()
    if args.json:
        from xrayview.commands.enhance import json_safe

        print(json.dumps(json_safe(summary), indent=2, allow_nan=False))
    else:
        print(_info_text(summary))
    return EXIT_OK


def _cmd_train(args: argparse.Namespace) -> int:
    from xrayview.commands.train import run_train

    return run_train(args)


def _cmd_enhance(args: argparse.Namespace) -> int:
    from xrayview.commands.enhance import run_enhance

    return run_enhance(args)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from xrayview.commands.evaluate import run_evaluation

    return run_evaluation(args)


def _add_enhance_parser(sub) -> None:
    e = sub.add_parser(
        "enhance", help="super-resolve and/or dehaze a film and save the result",
        description="Bicubic pre-upsampling by --scale, then SRCNN or VDSR (tiled), then "
                    "optional iterative dehazing. OUT's extension picks the format: .png or "
                    ".tif/.tiff (16-bit), .dcm (derived DICOM). Never writes over IN.")
    e.add_argument("input", metavar="IN", help="the film to enhance")
    e.add_argument("output", metavar="OUT", help="the result: .png, .tif, .tiff or .dcm")
    e.add_argument("--model", default=None, choices=registry.model_choices(),
                   help="super-resolution network (default vdsr; none: bicubic only)")
    e.add_argument("--scale", type=int, choices=[1, 2, 3, 4], default=None,
                   help="enlargement factor (default 2, or 1 with --model none)")
    e.add_argument("--dehaze-steps", type=int, default=None, metavar="K",
                   help="then dehaze, at most K iterations (default 0: no dehazing)")
    e.add_argument("--stop-metric", default=None, metavar="M", choices=METRIC_NAMES,
                   help="metric of the stop rule: " + ", ".join(METRIC_NAMES)
                        + " (default ssim_input)")
    e.add_argument("--stop-threshold", type=float, default=None, metavar="T",
                   help="stop dehazing when the stop metric crosses T (default: the metric's "
                        "own, e.g. SSIM against the input below 0.9)")
    e.add_argument("--stop-when", choices=["below", "above"], default=None,
                   help="stop when the metric falls below or rises above T (default: the "
                        "metric's own direction)")
    e.add_argument("--stop-rollback", action="store_true",
                   help="when the threshold stops dehazing, keep the step before the one "
                        "that crossed it")
    e.add_argument("--no-diverging-stop", action="store_true",
                   help="keep dehazing when a step changes the film more than the step "
                        "before it did (default: stop there and keep the earlier step)")
    e.add_argument("--frame", type=int, default=0,
                   help="frame (DICOM) or page (TIFF) to enhance, 0-based (default 0)")
    e.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    e.add_argument("--tile", type=int, default=None,
                   help="tile size in pixels (default: 1024 on the CPU, 2048 on a GPU)")
    e.add_argument("--weights", choices=["auto", "clean", "robust"], default=None,
                   help="auto (default): the model's robust weights for a lossy-compressed "
                        "(JPEG, DICOM lossy) or noisy film, where it has them; clean or "
                        "robust: always")
    e.add_argument("--self-ensemble", action="store_true",
                   help="average the network over the 8 rotations and flips of the film "
                        "(8x the time; see the model card for what it gains)")
    e.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=None,
                   help="auto (default): bf16 on GPUs, and on CPUs with native bf16 where a "
                        "one-time probe finds it faster; fp32: exact; bf16: where native")
    e.add_argument("--json", action="store_true",
                   help="print metrics and the dehazing step history as JSON on stdout")
    e.add_argument("--recipe", default=None, metavar="FILE",
                   help="start from the recipe in FILE: a .json recipe or a film exported by "
                        "xrayview (its provenance); options given here replace its fields")
    e.add_argument("--deidentify", action="store_true",
                   help="for a .dcm OUT: remove patient and study identifiers (DICOM PS3.15 "
                        "basic profile) instead of keeping them")


def _add_study_parser(sub) -> None:
    from xrayview.commands.study import add_study_parser

    add_study_parser(sub)


def _add_bench_parser(sub) -> None:
    from xrayview.commands.bench import add_bench_parser

    add_bench_parser(sub)


def _cmd_gui(files: Sequence[str]) -> int:
    from xrayview.gui.app import run

    return run(list(files))


def _self_test() -> int:
    from xrayview.commands.self_test import run_self_test

    return run_self_test()


def _split_default_gui(argv: list[str]) -> list[str]:
    """``xrayview a.dcm`` means ``xrayview gui a.dcm``."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in SUBCOMMANDS:
        idx = argv.index(first)
        return argv[:idx] + ["gui"] + argv[idx:]
    return argv


def _cmd_bench(args: argparse.Namespace) -> int:
    from xrayview.commands.bench import run_bench_command

    return run_bench_command(args)


def _cmd_study(args: argparse.Namespace) -> int:
    from xrayview.commands.study import run_study

    return run_study(args)


#: sub-command name -> handler; "gui" and no sub-command open the viewer
_COMMANDS = {"info": _cmd_info, "train": _cmd_train, "evaluate": _cmd_evaluate,
             "enhance": _cmd_enhance, "bench": _cmd_bench, "study": _cmd_study}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(_split_default_gui(args_list))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        logging.getLogger("pydicom").setLevel(logging.ERROR)
        import warnings

        warnings.filterwarnings("ignore", module="pydicom")
    from xrayview.core.io.errors import FilmError
    from xrayview.core.models.manifest import WeightsError

    try:
        if args.self_test:
            return _self_test()
        command = _COMMANDS.get(args.command)
        if command is None:
            return _cmd_gui(getattr(args, "files", []))
        return command(args)
    except (FilmError, BadInput, WeightsError) as exc:  # missing/damaged weights: bad input
        from xrayview.core.io.errors import escape_control

        print(f"xrayview: {escape_control(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:  # past the up-front budgets: the user can ask for less
        print("xrayview: not enough memory for this film and recipe; try a smaller --scale "
              "or --tile, or close other programs.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error: one line, the details in --debug
        if args.debug:
            raise
        from xrayview.core.io.errors import escape_control, plain

        log.debug("internal error", exc_info=True)
        where = _crash_log()
        hint = f"details in {escape_control(where)}" if where else "run with --debug for details"
        print(f"xrayview: internal error: {type(exc).__name__}: {plain(exc, 200)} ({hint})",
              file=sys.stderr)
        return EXIT_INTERNAL


def _crash_log() -> str | None:
    """Write the current exception's traceback to a new private file (mode 0600) in the
    temporary folder and return its path (None when that fails): exit 1 names it."""
    import tempfile
    import traceback

    try:
        fd, path = tempfile.mkstemp(prefix="xrayview-internal-error-", suffix=".log")
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(f"xrayview {__version__}: {' '.join(map(repr, sys.argv))}\n")
            fh.write(traceback.format_exc())
        return path
    except OSError:
        return None
