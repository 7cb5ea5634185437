#!/usr/bin/env bash
# Build the Linux packages from the PyInstaller bundle in dist/xrayview/:
#   dist/xrayview_VERSION_ARCH.deb             installs to /opt/xrayview, with a desktop
#                                              entry, icons and the .dcm MIME association
#   dist/xrayview-VERSION-linux-ARCH.tar.gz    portable folder, runs from where it is unpacked
# Usage: packaging/linux/build_packages.sh   (after `pyinstaller build.spec`; see `make package`)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
BUNDLE=dist/xrayview
ICONS=build/icons
[ -x "$BUNDLE/xrayview" ] || { echo "no bundle at $BUNDLE: run pyinstaller build.spec first" >&2; exit 1; }
[ -f "$ICONS/xrayview-256.png" ] || { echo "no icons in $ICONS: run packaging/make_icons.py" >&2; exit 1; }

VERSION="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
ARCH="$(dpkg --print-architecture)"
STAGE="build/deb/xrayview_${VERSION}_${ARCH}"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
         "$STAGE/usr/share/mime/packages" "$STAGE/usr/share/doc/xrayview" \
         "$STAGE/usr/share/icons/hicolor/scalable/apps"

cp -a "$BUNDLE" "$STAGE/opt/xrayview"
ln -s /opt/xrayview/xrayview "$STAGE/usr/bin/xrayview"
install -m 644 packaging/linux/xrayview.desktop "$STAGE/usr/share/applications/xrayview.desktop"
install -m 644 packaging/linux/xrayview-mime.xml "$STAGE/usr/share/mime/packages/xrayview.xml"
install -m 644 resources/icons/xrayview.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/xrayview.svg"
for size in 16 32 48 64 128 256 512; do
    dir="$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    install -m 644 "$ICONS/xrayview-$size.png" "$dir/xrayview.png"
done
{
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: xrayview"
    echo
    echo "Files: *"
    echo "Copyright: 2026 The xrayview developers"
    echo "License: MIT"
    sed 's/^$/./; s/^/ /' LICENSE
    echo
    echo "Comment: bundled third-party components, sample film and training data:"
    sed 's/^$/./; s/^/ /' packaging/THIRD_PARTY_NOTICES.md
} > "$STAGE/usr/share/doc/xrayview/copyright"

INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
cat > "$STAGE/DEBIAN/control" <<EOF
Package: xrayview
Version: ${VERSION}
Architecture: ${ARCH}
Maintainer: The xrayview developers <dev@xrayview.invalid>
Installed-Size: ${INSTALLED_KB}
Depends: libc6 (>= 2.31), libgl1, libegl1, libfontconfig1, libfreetype6, libdbus-1-3, libxkbcommon0, libxkbcommon-x11-0, libx11-xcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xfixes0, libxcb-xinerama0, libxcb-xkb1, libglib2.0-0
Recommends: shared-mime-info, desktop-file-utils
Section: science
Priority: optional
Homepage: https://xrayview.invalid/
Description: X-ray film enhancement viewer (research use, not for diagnosis)
 xrayview opens PNG, JPEG, TIFF and DICOM chest films, runs SRCNN or VDSR
 super-resolution and step-by-step dehazing on the GPU or CPU, and compares
 original, enhanced and difference views with live quality metrics. It also
 runs blinded reader studies. Self-contained: Python, PyTorch (CPU build), Qt
 and the trained models are bundled under /opt/xrayview.
EOF
cat > "$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    command -v update-mime-database >/dev/null && update-mime-database /usr/share/mime || true
    command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi
exit 0
EOF
cat > "$STAGE/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    command -v update-mime-database >/dev/null && update-mime-database /usr/share/mime || true
    command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi
exit 0
EOF
chmod 755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
DEB="dist/xrayview_${VERSION}_${ARCH}.deb"
# gzip: xz would save ~15% but takes minutes on a 2-core machine for this ~1 GB tree
dpkg-deb --root-owner-group -Zgzip -z6 --build "$STAGE" "$DEB" >/dev/null
echo "built $DEB ($(du -h "$DEB" | cut -f1))"

PORTABLE="xrayview-${VERSION}-linux-$(uname -m)"
TSTAGE="build/tar/$PORTABLE"
rm -rf "build/tar"
mkdir -p "$TSTAGE"
cp -a "$BUNDLE/." "$TSTAGE/"
install -m 644 resources/icons/xrayview.svg "$TSTAGE/xrayview.svg"
install -m 755 packaging/linux/install-desktop-entry.sh "$TSTAGE/install-desktop-entry.sh"
install -m 644 packaging/linux/xrayview.desktop "$TSTAGE/xrayview.desktop"
install -m 644 packaging/linux/xrayview-mime.xml "$TSTAGE/xrayview-mime.xml"
install -m 644 packaging/linux/README-portable.txt "$TSTAGE/README.txt"
TAR="dist/$PORTABLE.tar.gz"
tar -C build/tar -czf "$TAR" "$PORTABLE"
echo "built $TAR ($(du -h "$TAR" | cut -f1))"
