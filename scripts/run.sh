#!/usr/bin/env bash
# Sets up whatever is missing, builds AMSO (release) and runs it on the embedded SQLite
# database with the demo accounts. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$root/.tools/node_modules/.bin:$PATH"

printf '\n==> building AMSO (release)\n'
# --precompress: the bundle's .br and .gz at the highest levels, served as they are.
cargo leptos build --release --precompress

export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
exec target/release/amso serve --demo
