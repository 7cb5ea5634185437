#!/usr/bin/env bash
# Test the packaged app as a user gets it (after `make package`):
#  1. the frozen bundle: --self-test offscreen, --version, a bad film gives exit 2 and one line;
#  2. the portable .tar.gz: unpacked elsewhere, its self-test passes;
#  3. the .deb (as root, with apt): installed with its dependencies, the installed app's
#     self-test passes, the desktop entry validates and is registered for application/dicom,
#     then it is removed again and leaves nothing in /opt.
# Prints timings; exits non-zero at the first failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
VERSION="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "package test FAILED: $*" >&2; exit 1; }

echo "== frozen bundle: dist/xrayview ($(du -sh dist/xrayview | cut -f1))"
t0=$(date +%s.%N)
dist/xrayview/xrayview --self-test > "$TMP/selftest.txt" 2>&1 || { cat "$TMP/selftest.txt"; fail "frozen self-test"; }
t1=$(date +%s.%N)
grep -q "self-test: passed" "$TMP/selftest.txt" || fail "frozen self-test did not report passing"
grep "self-test:" "$TMP/selftest.txt" | sed 's/^/  /'
echo "  frozen self-test wall time: $(python3 -c "print(round($t1 - $t0, 1))") s"
[ "$(dist/xrayview/xrayview --version)" = "xrayview $VERSION" ] || fail "--version"
printf 'not a film' > "$TMP/bad.dcm"
set +e
dist/xrayview/xrayview info "$TMP/bad.dcm" > "$TMP/bad.out" 2> "$TMP/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad film: exit $rc, expected 2"
[ "$(wc -l < "$TMP/bad.err")" -eq 1 ] && ! grep -q Traceback "$TMP/bad.err" || fail "bad film: $(cat "$TMP/bad.err")"
echo "  bad film: exit 2, '$(cat "$TMP/bad.err")'"

TAR="dist/xrayview-${VERSION}-linux-$(uname -m).tar.gz"
echo "== portable: $TAR ($(du -h "$TAR" | cut -f1))"
tar -C "$TMP" -xzf "$TAR"
"$TMP/xrayview-${VERSION}-linux-$(uname -m)/xrayview" --self-test > "$TMP/portable.txt" 2>&1 \
    || { cat "$TMP/portable.txt"; fail "portable self-test"; }
grep "self-test: passed" "$TMP/portable.txt" | sed 's/^/  /'
rm -rf "$TMP/xrayview-${VERSION}-linux-$(uname -m)"

DEB="dist/xrayview_${VERSION}_$(dpkg --print-architecture).deb"
echo "== Debian package: $DEB ($(du -h "$DEB" | cut -f1))"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "  not root or no apt-get: install test skipped"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "./$DEB" > "$TMP/apt.txt" 2>&1 || { tail -20 "$TMP/apt.txt"; fail "apt-get install"; }
[ -x /opt/xrayview/xrayview ] || fail "/opt/xrayview/xrayview missing after install"
t0=$(date +%s.%N)
xrayview --self-test > "$TMP/installed.txt" 2>&1 || { cat "$TMP/installed.txt"; fail "installed self-test"; }
t1=$(date +%s.%N)
grep "self-test: passed" "$TMP/installed.txt" | sed 's/^/  installed app (via \/usr\/bin\/xrayview): /'
echo "  installed self-test wall time: $(python3 -c "print(round($t1 - $t0, 1))") s"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate /usr/share/applications/xrayview.desktop || fail "desktop entry invalid"
    echo "  desktop-file-validate: no errors"
fi
grep -q "^application/dicom=.*xrayview.desktop" /usr/share/applications/mimeinfo.cache \
    || fail "xrayview.desktop not registered for application/dicom"
echo "  mimeinfo.cache: $(grep '^application/dicom=' /usr/share/applications/mimeinfo.cache)"
[ -f /usr/share/mime/packages/xrayview.xml ] && [ -f /usr/share/mime/application/dicom.xml ] \
    || fail "application/dicom MIME type not installed"
apt-get remove -y -qq xrayview > "$TMP/remove.txt" 2>&1 || { tail -20 "$TMP/remove.txt"; fail "apt-get remove"; }
[ ! -e /opt/xrayview ] || fail "/opt/xrayview left behind after removal"
! grep -q "xrayview.desktop" /usr/share/applications/mimeinfo.cache || fail "MIME registration left behind"
echo "  removed cleanly"
echo "package test passed"
