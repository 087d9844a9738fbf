#!/usr/bin/env bash
# Installs whatever Tally needs that is missing: Debian packages, npm packages (npm ci) and
# tauri-driver. Quick when nothing is missing; safe to run twice. Debian 12, as root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
fail() { printf '[setup] %s\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------
packages=(
  build-essential pkg-config libssl-dev libdbus-1-dev            # crates that build C or link D-Bus
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev   # the Tauri window
  xvfb xauth webkit2gtk-driver xdotool                           # a window with no display, WebDriver, native dialogs
  gnome-keyring dbus-x11 dbus-bin libsecret-tools                         # the OS keyring, headless
)
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "run as root (or install sudo): apt-get must install ${missing[*]}"
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- toolchains ------------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || fail "Rust is missing. Install it with rustup (https://rustup.rs); Debian 12's own rustc is too old for Tauri 2."
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
[ "$rust_minor" -ge 80 ] || fail "Rust 1.80 or newer is needed (found $(rustc --version)); run: rustup update stable"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || fail "Node.js 18 or newer is needed (found $(node --version))."

# --- npm packages, exactly as locked ---------------------------------------------------------
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.tally-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.tally-lock-hash
fi

# --- tauri-driver (drives WebKitWebDriver for the end-to-end tests) ---------------------------
if ! command -v tauri-driver >/dev/null 2>&1; then
  say "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
fi
say "ready"
