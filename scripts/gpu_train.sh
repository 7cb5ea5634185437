#!/usr/bin/env bash
# Train SRCNN, VDSR and the dehazer on a lent GPU machine in one call (a few minutes).
# Prepare here:   python scripts/pack_gpu_data.py      (films -> .gpu_data, ignored by git)
# Run there:      bash scripts/gpu_train.sh            (carry: .gpu_data)
# The machine has torch with CUDA, numpy, scipy, scikit-image and Pillow; training needs
# nothing else (no pydicom, no Qt). Weights, manifest and logs land in $OUT/models.
set -euo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT="${OUT:-/tmp/xrayview-gpu}"
MIN="${MINUTES_PER_MODEL:-2.5}"
mkdir -p "$OUT/models"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
common=(--data .gpu_data/cxr --split .gpu_data/split.json --out "$OUT/models" --device cuda
        --max-minutes "$MIN" --val-per-film 4)
python -m xrayview train --arch vdsr   "${common[@]}" --iterations 20000 --batch 64 --lr 5e-4 --val-every 2000 2>&1 | tee "$OUT/models/train_vdsr.log"
python -m xrayview train --arch srcnn  "${common[@]}" --iterations 20000 --batch 64 --lr 5e-4 --val-every 2000 2>&1 | tee "$OUT/models/train_srcnn.log"
python -m xrayview train --arch dehaze "${common[@]}" --iterations 8000 --batch 32 --lr 1e-3 --val-every 1000 --patch 252 --per-film 16 --clean-fraction 0.2 --unroll 2 2>&1 | tee "$OUT/models/train_dehaze.log"
rm -rf "$OUT/models/checkpoints"
ls -la "$OUT/models"
