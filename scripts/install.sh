#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# install.sh: install the fork (meson install of build/obj, honouring
# DESTDIR) plus the x86 option ROMs built from pc-bios/optionrom and the
# s390-ccw firmware built from pc-bios/s390-ccw, which meson does not install
# when the tree has no prebuilt blobs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

obj=$XV_BUILD/obj
[ -f "$obj/build.ninja" ] || xv_die "nothing built yet: run 'make' first"
"$obj/pyvenv/bin/meson" install -C "$obj" --no-rebuild --quiet ${DESTDIR:+--destdir "$DESTDIR"}
datadir=$(sed -n 's/^#define CONFIG_QEMU_DATADIR "\(.*\)"$/\1/p' "$obj/config-host.h")
for rom in "$obj"/pc-bios/optionrom/*.bin "$obj"/pc-bios/s390-ccw/s390-ccw.img; do
    [ -f "$rom" ] && install -D -m 0644 "$rom" "${DESTDIR:-}$datadir/$(basename "$rom")"
done
xv_log "installed into ${DESTDIR:-/}"
