#!/usr/bin/env bash
# Cold start of the packaged app to a visible, painted main window on a real X server
# (Xvfb), as a user starts it: wall time from launching the executable until xdotool sees
# its main window mapped; median of RUNS launches, each with a fresh settings folder.
# Usage: scripts/bench_frozen_start.sh [EXECUTABLE] [RUNS] [SCREENSHOT.png] [FILM]
# (defaults: dist/xrayview/xrayview, 3, no screenshot, the bundled sample film).
# Needs Debian's xvfb, xdotool and (for the screenshot) imagemagick.
set -euo pipefail
EXE="${1:-dist/xrayview/xrayview}"
RUNS="${2:-3}"
SHOT="${3:-}"
FILM="${4:-}"
TMP="$(mktemp -d)"
DISPLAY_NUM=":$((90 + RANDOM % 100))"
Xvfb "$DISPLAY_NUM" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true; rm -rf "$TMP"' EXIT
export DISPLAY="$DISPLAY_NUM"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
unset QT_QPA_PLATFORM
times=()
for i in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    XDG_CONFIG_HOME="$TMP/config$i" "$EXE" ${FILM:+"$FILM"} >"$TMP/app$i.log" 2>&1 &
    app=$!
    xdotool search --sync --onlyvisible --name "xrayview" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(python3 -c "print($t1 - $t0)")")
    if [ -n "$SHOT" ] && [ "$i" -eq "$RUNS" ]; then
        sleep 4  # let the device list fill in and the film render
        import -window root "$SHOT"
        echo "screenshot: $SHOT"
    fi
    kill "$app"; wait "$app" 2>/dev/null || true
done
python3 - "${times[@]}" <<'PY'
import statistics, sys
t = [float(x) for x in sys.argv[1:]]
print("cold start to visible window: " + ", ".join(f"{x:.2f}" for x in t)
      + f" s; median {statistics.median(t):.2f} s")
PY
