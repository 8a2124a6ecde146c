#!/usr/bin/env bash
# Put the e-Mitra Plus kiosk on a Raspberry Pi (Raspberry Pi OS / Debian 12) or an x86 mini-PC
# from a checkout of the repository. A thin wrapper: the Debian package does the work.
#
#     sudo systemd/install.sh                  # build the .deb here, install it, boot to the kiosk
#     sudo systemd/install.sh ./emitra-kiosk_0.1.0_all.deb   # install a .deb built elsewhere
#
# The package (debian/) creates the users emitra and emitra-ui, /var/lib/emitra-kiosk, the venv
# in /opt/emitra-kiosk/.venv, the units, udev rules and journald/timesyncd drop-ins, and on a
# first install /etc/emitra-kiosk/site.toml with a random heartbeat token. Upgrades keep the
# journal, the config and the secrets. Fleets get it from the apt repository instead
# (docs/delivery.md). What this script adds is what a package should not decide for a
# machine: boot to the graphical target with the kiosk screen on tty1.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: run as root (sudo $0)" >&2
    exit 1
fi
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
step() { printf '\n== %s\n' "$*"; }

if [[ -n "${1:-}" ]]; then
    deb="$(realpath "$1")"
else
    step "1. build the package (make deb)"
    make -C "$SRC" deb
    deb="$(ls -t "$SRC"/emitra-kiosk_*_all.deb | head -1)"
fi

step "2. install $(basename "$deb")"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -o Dpkg::Options::=--force-confold "$deb"

step "3. boot to the kiosk"
systemctl set-default graphical.target
systemctl disable getty@tty1.service 2>/dev/null || true
systemctl --no-pager --lines=5 status emitra-kiosk.service || true
echo
echo "next: edit /etc/emitra-kiosk/site.toml (terminal id, central url and secret), set the"
echo "engineer PIN (/opt/emitra-kiosk/.venv/bin/emitra-kiosk hash-pin -> [maintenance] pin_hash),"
echo "then: systemctl restart emitra-kiosk. Logs: journalctl -u emitra-kiosk -f"
