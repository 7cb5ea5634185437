"""``xrayview study prepare|read|export|merge|summary``: reader studies from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from xrayview.commands import EXIT_OK, BadInput


def add_study_parser(sub) -> None:
    """Add ``study`` and its subcommands to the CLI's subparsers."""
    s = sub.add_parser("study",
                       help="blinded reader studies: prepare, read, export, merge, summary",
                       description="Reader studies: see resources/study_example.toml.")
    ss = s.add_subparsers(dest="study_command", metavar="STEP", required=True)
    p = ss.add_parser("prepare", help="compute every image of a study once (skips done work)")
    p.add_argument("study", metavar="STUDY", help="study definition (.toml)")
    p.add_argument("--out", required=True, metavar="DIR", help="study folder to fill")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    p.add_argument("--tile", type=int, default=None,
                   help="tile size in pixels (default: the device's own, as xrayview enhance)")
    r = ss.add_parser("read", help="open the blinded reading window for one reader")
    r.add_argument("dir", metavar="DIR", help="a prepared study folder")
    r.add_argument("--reader", required=True, metavar="NAME", help="the reader's name")
    e = ss.add_parser("export", help="one CSV row per answer of every reader")
    e.add_argument("dir", metavar="DIR")
    e.add_argument("--out", required=True, metavar="CSV")
    g = ss.add_parser("merge", help="add reader databases read on other workstations")
    g.add_argument("dir", metavar="STUDY", help="the prepared study folder")
    g.add_argument("sources", metavar="READER_DB", nargs="+",
                   help="reader databases (NAME.sqlite) from the same study")
    m = ss.add_parser("summary", help="per-condition statistics and inter-reader agreement")
    m.add_argument("dir", metavar="DIR")
    m.add_argument("--json", action="store_true", help="print JSON")
    m.add_argument("--plot", metavar="FILE", default=None,
                   help="also write the VGC curves (likert questions) as a PNG")


def _prepared(path: str):
    from xrayview.core.study.prepare import load_prepared

    return load_prepared(path)


def _prepare(args: argparse.Namespace) -> int:
    from xrayview.core.device import pick_device
    from xrayview.core.study.definition import load_study
    from xrayview.core.study.prepare import prepare_study

    if args.tile is not None and args.tile < 16:
        raise BadInput("--tile must be at least 16 pixels.")
    try:
        pick_device(args.device)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    study = load_study(args.study)
    gen = prepare_study(study, args.out, device=args.device, tile=args.tile)
    made = skipped = 0
    for p in gen:
        made += p.status == "made"
        skipped += p.status == "skipped"
        print(f"[{p.done}/{p.total}] {p.case} {p.condition}: {p.status}", file=sys.stderr)
    print(f"prepared {args.out}: {made} made, {skipped} already done")
    return EXIT_OK


def _read(args: argparse.Namespace) -> int:
    from xrayview.core.study.prepare import check_prepared_images
    from xrayview.core.study.store import ReaderStore, reader_db_path

    study = _prepared(args.dir)
    reader_db_path(args.dir, args.reader)  # validates the name before Qt starts
    ReaderStore(args.dir, args.reader, study).close()  # a damaged database: one line
    check_prepared_images(study, args.dir)
    from xrayview.gui.study_window import run_reader

    return run_reader(args.dir, args.reader)


def _export(args: argparse.Namespace) -> int:
    from xrayview.core.study.analysis import write_csv
    from xrayview.core.study.store import load_answers

    from xrayview.core.study.outputs import check_output

    study = _prepared(args.dir)
    out = check_output(args.out, args.dir, study)
    n = write_csv(study, load_answers(args.dir, all_revisions=True, study=study), out)
    print(f"wrote {n} answers to {args.out}")
    return EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    from xrayview.core.study.merge import merge_reader_dbs

    study = _prepared(args.dir)
    for r in merge_reader_dbs(args.dir, study, args.sources):
        what = ("added" if r.status == "added" else
                "skipped (the same answers are already in the study)")
        print(f"{r.source.name}: reader {r.reader}, {r.answers} answers: {what}")
    return EXIT_OK


def _summary(args: argparse.Namespace) -> int:
    from xrayview.core.study.analysis import summarise, summary_text
    from xrayview.core.study.store import load_answers

    study = _prepared(args.dir)
    rows = load_answers(args.dir, study=study)
    if not any(not r["training"] for r in rows):
        raise BadInput(f"no answers yet in {args.dir}.")
    plot = None
    if args.plot:
        from xrayview.core.study.outputs import check_output

        plot = check_output(args.plot, args.dir, study, what="--plot")
    summary = summarise(study, rows)
    if plot is not None:
        from xrayview.core.study.vgc_plot import write_vgc_plot

        write_vgc_plot(summary, plot)
    print(json.dumps(summary, indent=2) if args.json else summary_text(summary))
    if plot is not None:
        print(f"wrote the VGC curves to {plot}", file=sys.stderr)
    return EXIT_OK


def run_study(args: argparse.Namespace) -> int:
    """Dispatch ``xrayview study STEP``; StudyError becomes exit code 2 (one line)."""
    from xrayview.core.study.definition import StudyError

    steps = {"prepare": _prepare, "read": _read, "export": _export, "merge": _merge,
             "summary": _summary}
    try:
        return steps[args.study_command](args)
    except StudyError as exc:
        raise BadInput(str(exc)) from exc
