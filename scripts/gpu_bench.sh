#!/usr/bin/env bash
# Benchmark and CUDA checks on a lent GPU machine in one call (about 1-2 minutes; < 5).
# Prepare here (once; the wheel lands in .whl/, ignored by git):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 -d .whl pydicom==3.0.2
# Run there:  bash scripts/gpu_bench.sh      (carry: .whl)
# The machine has torch with CUDA, numpy, scipy, scikit-image, Pillow and pytest, but no
# pydicom: it is installed from the carried wheel; without it the bench skips load_dicom
# (and says so) and the DICOM tests are not run. Results land in $OUT (default /tmp/...):
#   bench_cuda.json    xrayview bench --device cuda --json
#   gpu_tests.log      pytest -m gpu: tiled == whole on CUDA, bf16/fp16 within 1e-3 of fp32
set -euo pipefail
export PYTHONUNBUFFERED=1
OUT="${OUT:-/tmp/xrayview-gpu-bench}"
PY="${PYTHON:-python3}"
DEVICE="${XRAYVIEW_BENCH_DEVICE:-cuda}"   # cpu + XRAYVIEW_BENCH_ARGS=--quick: a dry run here
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/xrayview-site .whl/*.whl
    export PYTHONPATH="/tmp/xrayview-site${PYTHONPATH:+:$PYTHONPATH}"
else
    echo "gpu_bench: no .whl/ carried: pydicom may be missing, load_dicom would be skipped" >&2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
status=0
timeout 200 "$PY" -m xrayview bench --device "$DEVICE" --json ${XRAYVIEW_BENCH_ARGS:-} \
    > "$OUT/bench_$DEVICE.json" || status=$?
cat "$OUT/bench_$DEVICE.json"
# --noconftest: tests/core/conftest.py builds the malformed-file corpus (CPU work, pydicom
# codecs) that the gpu tests do not need; the root conftest (the gpu skip rule) is loaded
# as a plugin, and the markers are declared in pyproject.toml
set -o pipefail
timeout 120 "$PY" -m pytest -q -m gpu --noconftest -p tests.conftest -p no:cacheprovider \
    tests/core/test_tiling.py tests/core/test_device.py tests/core/test_bench.py \
    2>&1 | tee "$OUT/gpu_tests.log" || status=$?
exit "$status"
