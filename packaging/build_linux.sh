#!/usr/bin/env bash
# Build the Linux bundle and its tarball: dist/reviewer-<version>-linux-x86_64.tar.gz
#
#   packaging/build_linux.sh          (needs .venv with the `package` extra: pyinstaller)
#
# The tarball holds reviewer/ (the one-folder bundle), reviewer.desktop and the icons in
# the freedesktop layout; docs/packaging.md says how to install it. The bundle's smoke
# test runs before the tarball is made: a bundle that cannot open a case is not shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
VERSION=$("$PY" -c 'import reviewer_app; print(reviewer_app.__version__)')
ARCH=$(uname -m)
NAME="reviewer-$VERSION-linux-$ARCH"

"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/reviewer.spec
QT_QPA_PLATFORM=offscreen dist/reviewer/reviewer --smoke-test

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/$NAME/share/applications" "$STAGE/$NAME/share/icons"
cp -a dist/reviewer "$STAGE/$NAME/reviewer"
cp packaging/linux/reviewer.desktop "$STAGE/$NAME/share/applications/"
QT_QPA_PLATFORM=offscreen "$PY" packaging/linux/make_icons.py "$STAGE/$NAME/share/icons" >/dev/null
tar -C "$STAGE" -czf "dist/$NAME.tar.gz" "$NAME"
echo "dist/$NAME.tar.gz ($(du -sh "dist/$NAME.tar.gz" | cut -f1); unpacked $(du -sh dist/reviewer | cut -f1))"
