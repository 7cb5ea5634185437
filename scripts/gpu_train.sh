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
# issue 14: per-scale VDSR on realistic degradations (warm start from the shipped weights),
# SRCNN x2, and the dehazer on every veil family. Keep a result only if it wins on
# validation: python scripts/promote_campaign.py RUN SCALE --campaign "$OUT/models" here.
sr=(--degradation realistic --val-protocols clean jpeg75 noisy --batch 64 --patch 96
    --iterations 40000 --val-every 2000 --no-register)
python -m xrayview train --arch vdsr --run-name vdsr-x2 --scales 2 --init models/vdsr.pt --lr 2e-4 "${common[@]}" "${sr[@]}" 2>&1 | tee "$OUT/models/train_vdsr-x2.log"
python -m xrayview train --arch vdsr --run-name vdsr-x4 --scales 4 --init models/vdsr.pt --lr 2e-4 --sr-clean-fraction 0.5 "${common[@]}" "${sr[@]}" 2>&1 | tee "$OUT/models/train_vdsr-x4.log"
python -m xrayview train --arch srcnn --run-name srcnn-x2 --scales 2 --init models/srcnn.pt --lr 1e-4 "${common[@]}" "${sr[@]}" 2>&1 | tee "$OUT/models/train_srcnn-x2.log"
python -m xrayview train --arch dehaze --run-name dehaze-all "${common[@]}" --iterations 8000 --batch 32 --lr 1e-3 --val-every 1000 --patch 132 --per-film 16 --clean-fraction 0.2 --unroll 2 --arch-kwargs '{"proxy_size": 32}' --veil-families scatter atmospheric exposure --no-register 2>&1 | tee "$OUT/models/train_dehaze-all.log"
find "$OUT/models/checkpoints" -name "*_last.pt" -delete 2>/dev/null || true
ls -la "$OUT/models"
