#!/usr/bin/env bash
# Portable xrayview: add a menu entry, icon and .dcm association for the current user,
# pointing at this unpacked folder (nothing outside ~/.local is touched).
# Usage: ./install-desktop-entry.sh            (--remove to take them away again)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$DATA/applications/xrayview.desktop" "$DATA/icons/hicolor/scalable/apps/xrayview.svg" \
          "$DATA/mime/packages/xrayview.xml"
else
    mkdir -p "$DATA/applications" "$DATA/icons/hicolor/scalable/apps" "$DATA/mime/packages"
    sed "s|/opt/xrayview/xrayview|\"$HERE/xrayview\"|g" "$HERE/xrayview.desktop" \
        > "$DATA/applications/xrayview.desktop"
    cp "$HERE/xrayview.svg" "$DATA/icons/hicolor/scalable/apps/xrayview.svg"
    cp "$HERE/xrayview-mime.xml" "$DATA/mime/packages/xrayview.xml"
fi
command -v update-mime-database >/dev/null && update-mime-database "$DATA/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
echo "done: xrayview desktop entry ${1:+removed}${1:-installed} in $DATA"
