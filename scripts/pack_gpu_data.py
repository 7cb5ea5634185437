"""Copy a size-capped subset of the train/val films into .gpu_data/ for a lent GPU machine.

Only the repository travels to the device machine (64 MiB at most), so the films that a
GPU training run needs are copied, unchanged, into the ignored folder ``.gpu_data/cxr``
with a split file listing exactly what was packed (train and val only; never test).
Films are taken round-robin across the datasets in split order until the budget is used.

    python scripts/pack_gpu_data.py --data ../shared/data/cxr --budget-mb 52
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/cxr")
    ap.add_argument("--split", default="models/data_split.json")
    ap.add_argument("--out", default=".gpu_data")
    ap.add_argument("--budget-mb", type=float, default=52.0)
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    split = json.loads(Path(args.split).read_text())
    budget = args.budget_mb * 1e6
    if out.exists():
        shutil.rmtree(out)
    packed: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    used = 0.0
    for part, share in (("val", 0.15), ("train", 1.0)):
        queues: dict[str, list[str]] = {}
        for f in split[part]:
            queues.setdefault(f.split("/", 1)[0], []).append(f)
        limit = used + (budget - used) * share
        while any(queues.values()):
            for q in queues.values():
                if not q:
                    continue
                f = q.pop(0)
                size = (data / f).stat().st_size
                if used + size > limit:
                    q.clear()
                    continue
                (out / "cxr" / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(data / f, out / "cxr" / f)
                packed[part].append(f)
                used += size
    (out / "split.json").write_text(json.dumps(
        {"description": "subset of models/data_split.json packed for a GPU run", **packed},
        indent=1))
    print(f"packed {len(packed['train'])} train + {len(packed['val'])} val films, "
          f"{used / 1e6:.1f} MB, into {out}")


if __name__ == "__main__":
    main()
