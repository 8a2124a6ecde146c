#!/usr/bin/env bash
# Put the e-Mitra Plus kiosk in place on a Raspberry Pi (Raspberry Pi OS / Debian 12) or an
# x86 mini-PC. Run as root from a checkout of the repository:
#
#     sudo systemd/install.sh            # install or upgrade, then (re)start the units
#     sudo systemd/install.sh --no-start # everything but starting the units
#
# Safe to re-run: users, directories and units are created or updated in place; the site files
# in /etc/emitra-kiosk/ are written only when they do not exist yet (they hold the terminal's
# secrets and never get overwritten).
#
# Steps:
#   1. system packages (cage for the screen, fonts, pcscd, libzbar, ...)
#   2. users: emitra (the core; group dialout for the serial devices), emitra-ui (the screen)
#   3. directories: /opt/emitra-kiosk (code + venv), /var/lib/emitra-kiosk (journal, photos),
#      /etc/emitra-kiosk (site.toml with secrets: root:emitra 0640; ui.toml for the screen)
#   4. the application in a venv at /opt/emitra-kiosk/.venv
#   5. udev rules (stable /dev/emitra-* names), journald limits, the two units
#   6. boot to the kiosk: graphical target, no login prompt on tty1, units enabled
#
# Secrets made on a first install (never a default; each printed with where it went):
#   - the heartbeat token ([heartbeat] token in site.toml): random;
#   - the engineer PIN hash ([maintenance] pin_hash): `emitra-kiosk hash-pin` asks for the PIN
#     on a terminal; without one a random 8-digit PIN is generated and printed once;
#   - the session API token: the core writes a new one at every start to
#     $STATE/session.token (0640, group emitra-ui); only the screen reads it.
set -euo pipefail

PREFIX=/opt/emitra-kiosk
STATE=/var/lib/emitra-kiosk
ETC=/etc/emitra-kiosk
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
START=1
[[ "${1:-}" == "--no-start" ]] && START=0

if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: run as root (sudo $0)" >&2
    exit 1
fi
step() { printf '\n== %s\n' "$*"; }

step "1. system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-venv python3-dev gcc swig cage libgl1-mesa-dri libegl1 \
    libmtdev1 fonts-noto-core fonts-lohit-deva libfribidi0 libzbar0 pcscd libpcsclite-dev acl \
    >/dev/null

step "2. users"
if ! getent group emitra >/dev/null; then groupadd --system emitra; fi
if ! id emitra >/dev/null 2>&1; then
    useradd --system --gid emitra --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin --comment "e-Mitra kiosk core" emitra
fi
usermod -a -G dialout emitra
if ! getent group emitra-ui >/dev/null; then groupadd --system emitra-ui; fi
if ! id emitra-ui >/dev/null 2>&1; then
    useradd --system --gid emitra-ui --home-dir /var/lib/emitra-kiosk-ui --no-create-home \
        --shell /usr/sbin/nologin --comment "e-Mitra kiosk screen" emitra-ui
fi
for g in video render input; do
    if getent group "$g" >/dev/null; then usermod -a -G "$g" emitra-ui; fi
done
# The core gives the session token file to group emitra-ui ([session_api] token_group).
usermod -a -G emitra-ui emitra

step "3. directories"
install -d -o root -g root -m 0755 "$PREFIX"
install -d -o emitra -g emitra -m 0750 "$STATE" "$STATE/photos"
install -d -o emitra-ui -g emitra-ui -m 0750 /var/lib/emitra-kiosk-ui
install -d -o root -g emitra -m 0750 "$ETC"
# The screen may pass through the state directory (no listing, no reading: the journal stays
# emitra:emitra) to open the session token by its name.
setfacl -m u:emitra-ui:x "$STATE"

step "4. application in $PREFIX/.venv"
# A copy of the source (not the checkout itself) so that the checkout can go away.
rm -rf "$PREFIX/src.new"
mkdir -p "$PREFIX/src.new"
tar -C "$SRC" --exclude=.git --exclude=.venv --exclude=var --exclude='__pycache__' \
    --exclude=.pytest_cache --exclude=.ruff_cache --exclude=.hypothesis -cf - . \
    | tar -C "$PREFIX/src.new" -xf -
rm -rf "$PREFIX/src"
mv "$PREFIX/src.new" "$PREFIX/src"
[[ -x "$PREFIX/.venv/bin/python" ]] || python3 -m venv "$PREFIX/.venv"
"$PREFIX/.venv/bin/python" -m pip install -q --upgrade pip
"$PREFIX/.venv/bin/python" -m pip install -q "$PREFIX/src"
install -d -m 0755 "$PREFIX/systemd"
install -m 0644 "$SRC/systemd/README.md" "$PREFIX/systemd/README.md"

if [[ ! -e "$ETC/site.toml" ]]; then
    token="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    if [[ -t 0 ]]; then
        echo "Engineer PIN for maintenance mode (4-12 digits), asked twice:"
        pin_hash="$("$PREFIX/.venv/bin/emitra-kiosk" hash-pin)"
        pin_note="the PIN you typed"
    else
        pin="$(printf '%08d' $(( $(od -An -N4 -tu4 /dev/urandom) % 100000000 )))"
        pin_hash="$(printf '%s\n' "$pin" | "$PREFIX/.venv/bin/emitra-kiosk" hash-pin 2>/dev/null)"
        pin_note="generated PIN $pin (write it down now: only its hash is kept)"
    fi
    cat >"$ETC/site.toml" <<EOF
# This kiosk's settings; every key is documented in $PREFIX/src/config/default.toml.
# Check with: sudo -u emitra $PREFIX/.venv/bin/emitra-kiosk check-config --config $ETC/site.toml
[terminal]
id = "RJ-XXX-0000"            # as registered with central
location = "Set me"

[central]
url = "https://central.example.invalid"
secret = "set-me"              # per-terminal signing secret from central

[journal]
path = "$STATE/journal.sqlite"

[session_api]
# A new token at every start; the screen (user emitra-ui) reads it, nobody else.
token_file = "$STATE/session.token"
token_group = "emitra-ui"

[heartbeat]
bind = "0.0.0.0"
token = "$token"

[logging]
dir = ""                       # stderr only: journald keeps and rotates it

[maintenance]
# Made by: $PREFIX/.venv/bin/emitra-kiosk hash-pin
EOF
    printf 'pin_hash = "%s"\n' "$pin_hash" >>"$ETC/site.toml"
    chown root:emitra "$ETC/site.toml"
    chmod 0640 "$ETC/site.toml"
    echo "wrote $ETC/site.toml: set terminal id, central url and secret"
    echo "heartbeat token: $token  -> $ETC/site.toml [heartbeat] token"
    echo "engineer PIN: $pin_note  -> its hash in $ETC/site.toml [maintenance] pin_hash"
    echo "session token: written by the core at each start to $STATE/session.token"
fi
if ! grep -Eq '^pin_hash *= *"scrypt' "$ETC/site.toml"; then
    echo "WARNING: $ETC/site.toml has no [maintenance] pin_hash: maintenance mode is off." >&2
    echo "         Make one with $PREFIX/.venv/bin/emitra-kiosk hash-pin" >&2
fi
if grep -Eq '^token *= *"(change-me)?"' "$ETC/site.toml"; then
    echo "WARNING: [heartbeat] token is empty or change-me: /health will not start." >&2
fi
if [[ ! -e "$ETC/ui.toml" ]]; then
    cat >"$ETC/ui.toml" <<EOF
# The screen's settings: no secrets here (the screen runs as emitra-ui and cannot read
# site.toml). Keep [terminal] and [session_api] in step with site.toml.
[terminal]
language = "hi"

[session_api]
host = "127.0.0.1"
port = 8700
# The core's token for this screen (a new one at every core start).
token_file = "$STATE/session.token"
EOF
    chmod 0644 "$ETC/ui.toml"
fi
# Also for an older ui.toml without token_file: the screen's link reads this variable.
install -d -m 0755 /etc/systemd/system/emitra-kiosk-ui.service.d
printf '[Service]\nEnvironment=EMITRA_SESSION_TOKEN_FILE=%s\n' "$STATE/session.token" \
    >/etc/systemd/system/emitra-kiosk-ui.service.d/session-token.conf

step "5. udev rules, journald limits, units"
install -m 0644 "$SRC/systemd/99-emitra-kiosk.rules" /etc/udev/rules.d/99-emitra-kiosk.rules
install -d -m 0755 /etc/systemd/journald.conf.d
install -m 0644 "$SRC/systemd/journald-emitra.conf" /etc/systemd/journald.conf.d/emitra-kiosk.conf
install -m 0644 "$SRC/systemd/emitra-kiosk.service" /etc/systemd/system/emitra-kiosk.service
install -m 0644 "$SRC/systemd/emitra-kiosk-ui.service" /etc/systemd/system/emitra-kiosk-ui.service
systemd-analyze verify /etc/systemd/system/emitra-kiosk.service \
    /etc/systemd/system/emitra-kiosk-ui.service
udevadm control --reload
udevadm trigger --subsystem-match=tty --subsystem-match=usbmisc --subsystem-match=usb
systemctl restart systemd-journald
systemctl daemon-reload

step "6. boot to the kiosk"
systemctl set-default graphical.target
systemctl disable getty@tty1.service 2>/dev/null || true
systemctl enable emitra-kiosk.service emitra-kiosk-ui.service
if [[ $START -eq 1 ]]; then
    systemctl restart emitra-kiosk.service
    systemctl restart emitra-kiosk-ui.service
    systemctl --no-pager --lines=5 status emitra-kiosk.service || true
fi
echo
echo "done. Logs: journalctl -u emitra-kiosk -f   Health: curl -H 'Authorization: Bearer <token>' http://<kiosk>:8710/health"
