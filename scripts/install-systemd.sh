#!/usr/bin/env bash
# Installs Headframe as a systemd service (docs/operations.md).
#
# Run it from a built checkout (npm ci done) as root:
#   sudo scripts/install-systemd.sh
# It is idempotent: a second run changes nothing and says so. It never
# overwrites an existing config file.
#
# What it does (with --prefix P, every path below is under P and no user
# is created and systemctl is not called: a staged install for packaging
# or a look at the result):
#   - creates the system user and group "headframe" (no login, no home)
#   - writes /etc/systemd/system/headframe.service from contrib/, with this
#     machine's node binary, the application folder and the config path
#   - creates /etc/headframe/headframe.toml from headframe.example.toml
#     when there is none
#   - runs systemctl daemon-reload when the unit changed
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install-systemd.sh [--prefix DIR] [--app-dir DIR] [--node PATH] [--dry-run]

  --prefix DIR   install under DIR instead of / (staged: no user, no systemctl)
  --app-dir DIR  the built Headframe folder the service runs (default: this checkout)
  --node PATH    the node binary (default: `command -v node`)
  --dry-run      print what would be done, change nothing
EOF
}

here="$(cd "$(dirname "$0")/.." && pwd)"
prefix=""
app_dir="$here"
node_bin="$(command -v node || true)"
dry_run=0

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --app-dir) app_dir="${2:?--app-dir needs a folder}"; shift 2 ;;
    --app-dir=*) app_dir="${1#*=}"; shift ;;
    --node) node_bin="${2:?--node needs a path}"; shift 2 ;;
    --node=*) node_bin="${1#*=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-systemd.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

# A prefix of "/" is the real system.
[ "$prefix" = "/" ] && prefix=""
case "$prefix" in
  "" | /*) ;;
  *) prefix="$(pwd)/$prefix" ;;
esac

fail() {
  echo "install-systemd.sh: $*" >&2
  exit 1
}

[ -n "$node_bin" ] && [ -x "$node_bin" ] || fail "no node binary found (use --node PATH)"
[ -f "$app_dir/dist/src/cli/main.js" ] || fail "$app_dir/dist/src/cli/main.js is missing: run npm ci (or npm run build) first"
[ -f "$here/contrib/headframe.service" ] || fail "$here/contrib/headframe.service is missing"
if [ -z "$prefix" ] && [ "$(id -u)" != 0 ] && [ "$dry_run" = 0 ]; then
  fail "run as root (or use --prefix DIR for a staged install, --dry-run to see what it would do)"
fi

config_file="/etc/headframe/headframe.toml"
unit_path="$prefix/etc/systemd/system/headframe.service"
config_path="$prefix$config_file"
changed=0

say() { printf '%s\n' "$*"; }
run() {
  if [ "$dry_run" = 1 ]; then say "would run: $*"; else "$@"; fi
}

# The unit with this machine's paths.
unit_text="$(sed \
  -e "s|^ExecStart=.*|ExecStart=$node_bin $app_dir/dist/src/cli/main.js run --config $config_file|" \
  -e "s|^Documentation=.*|Documentation=file://$app_dir/docs/operations.md|" \
  "$here/contrib/headframe.service")"

# 1. The user.
if [ -z "$prefix" ]; then
  if id -u headframe >/dev/null 2>&1; then
    say "user headframe: exists"
  else
    run useradd --system --user-group --no-create-home --home-dir /var/lib/headframe --shell /usr/sbin/nologin headframe
    [ "$dry_run" = 1 ] || say "user headframe: created"
  fi
else
  say "user headframe: not created (staged install under $prefix)"
fi

# 2. The unit.
if [ -f "$unit_path" ] && [ "$(cat "$unit_path")" = "$unit_text" ]; then
  say "unit $unit_path: unchanged"
else
  state="installed"
  [ -f "$unit_path" ] && state="updated"
  if [ "$dry_run" = 1 ]; then
    say "unit $unit_path: would be $state"
  else
    mkdir -p "$(dirname "$unit_path")"
    printf '%s\n' "$unit_text" >"$unit_path.tmp"
    chmod 0644 "$unit_path.tmp"
    mv "$unit_path.tmp" "$unit_path"
    say "unit $unit_path: $state"
  fi
  changed=1
fi

# 3. The config (never overwritten).
if [ -f "$config_path" ]; then
  say "config $config_path: kept (exists)"
else
  if [ "$dry_run" = 1 ]; then
    say "config $config_path: would be created from headframe.example.toml"
  else
    mkdir -p "$(dirname "$config_path")"
    install -m 0640 "$here/headframe.example.toml" "$config_path"
    if [ -z "$prefix" ]; then
      chown root:headframe "$config_path" "$(dirname "$config_path")"
      chmod 0750 "$(dirname "$config_path")"
    fi
    say "config $config_path: created from headframe.example.toml (edit it: sources, payout address)"
  fi
fi

# 4. systemd.
if [ -z "$prefix" ] && [ "$changed" = 1 ]; then
  if command -v systemctl >/dev/null 2>&1; then
    run systemctl daemon-reload
    [ "$dry_run" = 1 ] || say "systemd: daemon reloaded"
  else
    say "systemd: systemctl not found, daemon not reloaded"
  fi
fi

if [ "$dry_run" = 1 ]; then
  say "dry run: nothing changed"
elif [ -z "$prefix" ]; then
  say "next: edit $config_file, then: systemctl enable --now headframe; journalctl -u headframe -f"
else
  say "staged under $prefix"
fi
