"""``xrayview train``: run core.train with progress lines, then record the weights."""

from __future__ import annotations

import argparse
import json
import sys
import time

from xrayview.commands import EXIT_OK, BadInput


def run_train(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from xrayview.core.training.loop import TrainConfig, train
    from xrayview.core.training.register import register_weights

    if not Path(args.data).is_dir():
        raise BadInput(f"training data folder {args.data} does not exist.")
    if not Path(args.split).is_file():
        raise BadInput(f"split file {args.split} does not exist.")
    if args.patch % 12 or args.patch < 24:
        raise BadInput("--patch must be a multiple of 12 (so scales 2, 3, 4 divide it), >= 24.")
    if any(s not in (1, 2, 3, 4) for s in args.scales):
        raise BadInput("--scales must be within 1..4.")
    if not 0.0 <= args.clean_fraction < 1.0:
        raise BadInput("--clean-fraction must be at least 0 and below 1.")
    if args.checkpoint_every < 1 or args.val_every < 1:
        raise BadInput("--val-every and --checkpoint-every must be at least 1.")
    if args.unroll < 1:
        raise BadInput("--unroll must be at least 1.")
    if not 0.0 <= args.sr_clean_fraction <= 1.0:
        raise BadInput("--sr-clean-fraction must be within 0..1.")
    if args.init and not Path(args.init).is_file():
        raise BadInput(f"--init weights file {args.init} does not exist.")
    if args.chunk_minutes is not None and args.chunk_minutes <= 0:
        raise BadInput("--chunk-minutes must be positive.")
    resume = args.resume
    if resume == "auto":
        last = Path(args.out) / "checkpoints" / f"{args.run_name or args.arch}_last.pt"
        resume = str(last) if last.is_file() else None
    elif resume and not Path(resume).is_file():
        raise BadInput(f"--resume checkpoint {resume} does not exist.")
    try:
        arch_kwargs = json.loads(args.arch_kwargs)
        assert isinstance(arch_kwargs, dict)
    except (ValueError, AssertionError) as exc:
        raise BadInput("--arch-kwargs must be a JSON object.") from exc
    from xrayview.core.models.registry import kwargs_problem

    problem = kwargs_problem(args.arch, arch_kwargs)
    if problem:
        raise BadInput(f"--arch-kwargs: {problem}.")
    cfg = TrainConfig(arch=args.arch, data_dir=args.data, split_file=args.split,
                      out_dir=args.out, iterations=args.iterations, batch=args.batch,
                      patch=args.patch, per_film=args.per_film, lr=args.lr,
                      val_per_film=args.val_per_film,
                      scales=list(args.scales), seed=args.seed, val_every=args.val_every,
                      checkpoint_every=args.checkpoint_every,
                      max_minutes=args.max_minutes, device=args.device,
                      threads=args.threads, resume=resume, init=args.init,
                      run_name=args.run_name, chunk_minutes=args.chunk_minutes,
                      degradation=args.degradation, sr_clean_fraction=args.sr_clean_fraction,
                      val_protocols=list(args.val_protocols),
                      veil_families=list(args.veil_families),
                      mixed_precision=args.mixed_precision,
                      clean_fraction=args.clean_fraction, unroll=args.unroll,
                      kwargs=arch_kwargs)
    gen = train(cfg)
    last_print = 0.0
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            result = stop.value
            break
        now = time.perf_counter()
        if p.val_gain_db is not None or now - last_print > 10 or p.iteration == p.total:
            last_print = now
            val = f"  val gain {p.val_gain_db:+.3f} dB" if p.val_gain_db is not None else ""
            print(f"[{args.arch}] {p.iteration}/{p.total}  loss {p.loss:.5f}  lr {p.lr:.2e}  "
                  f"elapsed {p.elapsed_s / 60:.1f} min  ETA {p.eta_s / 60:.1f} min{val}",
                  file=sys.stderr, flush=True)
    print(f"[{args.arch}] done: {result.iterations} iterations in {result.wall_s / 60:.1f} min; "
          f"best validation gain {result.best_val_gain_db:+.3f} dB; weights {result.weights_path}",
          file=sys.stderr)
    if not args.no_register and int(os.environ.get("RANK", "0")) == 0:
        register_weights(cfg, result)
    return EXIT_OK
