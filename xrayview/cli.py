"""Command line: ``xrayview [FILE ...]`` opens the viewer; subcommands do batch work.

Exit codes (DESIGN §4): 0 success, 2 bad input (one plain line on stderr, no traceback),
1 internal error. The GUI is imported lazily so every other subcommand runs without Qt.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any, Sequence

from xrayview import __version__

log = logging.getLogger("xrayview")

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
SUBCOMMANDS = ("gui", "info")


class BadInput(Exception):
    """A user-facing input problem detected by the CLI itself (exit code 2)."""


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
    i.add_argument("--max-megapixels", type=float, default=200.0,
                   help="refuse images larger than this (default 200)")
    i.add_argument("--show-identifiers", action="store_true",
                   help="also print patient name/ID and study/series UIDs (hidden by default)")
    return p


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
    width = max(len(k) for k, _ in lines) + 2
    return "\n".join(f"{k + ':':<{width}}{v}" for k, v in lines)


def _cmd_info(args: argparse.Namespace) -> int:
    from xrayview.core.io import load_film

    if args.max_megapixels <= 0:
        raise BadInput("--max-megapixels must be positive.")
    film = load_film(args.file, frame=args.frame, max_pixels=int(args.max_megapixels * 1e6))
    summary = film.summary()
    if args.show_identifiers:
        summary["identifiers"] = film.identifiers.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_info_text(summary))
    return EXIT_OK


def _cmd_gui(files: Sequence[str]) -> int:
    from xrayview.gui.app import run

    return run(list(files))


def _self_test() -> int:
    """Load the bundled sample film and, when Qt is present, build the main window offscreen."""
    import os

    from xrayview.core.io import load_film
    from xrayview.core.resources import sample_film_path

    t0 = time.perf_counter()
    film = load_film(sample_film_path())
    if film.pixels.ndim != 2 or not 0.0 <= float(film.pixels.min()) <= float(film.pixels.max()) <= 1.0:
        print("self-test: sample film loaded with wrong pixels", file=sys.stderr)
        return EXIT_INTERNAL
    print(f"self-test: sample film {film.shape[1]} x {film.shape[0]} loaded")
    try:
        import PySide6  # noqa: F401
    except ImportError:
        print("self-test: Qt not installed; GUI check skipped")
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from xrayview.gui.app import self_test_window

        self_test_window()
        print("self-test: main window created and closed")
    print(f"self-test: passed in {time.perf_counter() - t0:.2f} s")
    return EXIT_OK


def _split_default_gui(argv: list[str]) -> list[str]:
    """``xrayview a.dcm`` means ``xrayview gui a.dcm``."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in SUBCOMMANDS:
        idx = argv.index(first)
        return argv[:idx] + ["gui"] + argv[idx:]
    return argv


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

    try:
        if args.self_test:
            return _self_test()
        if args.command == "info":
            return _cmd_info(args)
        return _cmd_gui(getattr(args, "files", []))
    except (FilmError, BadInput) as exc:
        print(f"xrayview: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error: one line, the details in --debug
        if args.debug:
            raise
        log.debug("internal error", exc_info=True)
        print(f"xrayview: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL
