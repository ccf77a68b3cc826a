#!/usr/bin/env bash
# Installs what building, running and testing AMSO needs, skipping whatever is present.
# Safe to run again: every step checks first. Debian 12 with Rust (rustup) is assumed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$HOME/.cargo/bin:$root/.tools/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -----------------------------------------------------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
# Faces for every market's script: the PDF report embeds them, Chromium draws with them.
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ] || missing+=(fonts-noto-core)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
fi

# --- Rust targets and tools ----------------------------------------------------------
if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  step "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v cargo-leptos >/dev/null; then
  # cargo-leptos 0.3.11's dependencies need a newer rustc than stable 1.95 (TOOLCHAIN.md).
  if ! rustup toolchain list | grep -q '^nightly'; then
    step "installing the nightly toolchain (only to build cargo-leptos)"
    rustup toolchain install nightly --profile minimal
  fi
  step "installing cargo-leptos 0.3.11 (about 12 minutes on 2 cores)"
  cargo +nightly install cargo-leptos --version 0.3.11 --locked
fi

# The wasm-bindgen CLI must be exactly the version in Cargo.lock.
if [ ! -f Cargo.lock ]; then
  cargo generate-lockfile
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  step "installing wasm-bindgen-cli $want"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# --- ONNX Runtime: the official wheel gives both the shared library the product loads and
# the Python runtime the parity tests compare against -----------------------------------
ort_version=1.32.0
if ! .tools/venv/bin/python -c "import onnxruntime, numpy, sys; sys.exit(onnxruntime.__version__ != '$ort_version')" 2>/dev/null; then
  step "installing onnxruntime $ort_version (Python wheel) under .tools/venv"
  mkdir -p .tools
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "onnxruntime==$ort_version" numpy
fi
# openpyxl: the second XLSX reader the report tests read the workbook back with.
if ! .tools/venv/bin/python -c "import openpyxl" 2>/dev/null; then
  step "installing openpyxl under .tools/venv"
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "openpyxl==3.1.5"
fi
ort_lib=$(ls .tools/venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n 1)
if [ -z "$ort_lib" ]; then
  echo "error: the onnxruntime wheel has no libonnxruntime.so" >&2
  exit 1
fi
mkdir -p .tools/onnxruntime
ln -sfn "$root/$ort_lib" .tools/onnxruntime/libonnxruntime.so

# --- npm tools: wasm-opt for release builds, Playwright for browser tests --------------
if [ ! -x .tools/node_modules/.bin/wasm-opt ]; then
  step "installing wasm-opt (npm binaryen)"
  mkdir -p .tools
  (cd .tools && [ -f package.json ] || echo '{"private":true}' > package.json)
  (cd .tools && npm install --no-audit --no-fund --silent binaryen@132)
fi
if [ ! -d end2end/node_modules/@playwright/test ]; then
  step "installing the end-to-end test dependencies"
  (cd end2end && npm ci --no-audit --no-fund --silent)
fi
