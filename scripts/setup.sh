#!/usr/bin/env bash
# Installs everything CoopRide needs, inside the repository; safe to run again (it skips what is done).
#   .venv/         Python 3.11 venv with the project (editable) and its dev tools, pinned by requirements.lock
#   node_modules/  solc-js, OpenZeppelin contracts and anvil, pinned by package-lock.json
#   .venv/solcx/solc-v<version>  -> scripts/toolchain/solc-bridge.js (what py-solc-x/Brownie call "solc")
#   .venv/bin/anvil              -> node_modules/.bin/anvil (Brownie starts anvil from PATH)
#   ~/.solcx/solc-v<version>     -> the same bridge, for brownie run outside make
#   a PostgreSQL server, from Debian's packages where it is missing (root only), for the tests
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "setup: CoopRide needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python"
  "$python" -m venv .venv
fi

stamp=.venv/.coopride-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  echo "setup: installing Python packages (pinned by requirements.lock)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.3.1"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
  touch "$stamp"
fi

if [ ! -d node_modules/solc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (solc, OpenZeppelin, anvil)"
  # `npm ci` fails here: the registry serves only the linux-x64 anvil package, so the lock
  # lacks the other platforms' optional packages; `npm install` honours the lock all the same.
  npm install --no-audit --no-fund --loglevel=error
fi

# The backend's database tests also run on a private PostgreSQL server (tests/backend/postgresql_cluster.py).
if ! command -v pg_ctl >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing a PostgreSQL server (Debian's postgresql) for the backend tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup: no PostgreSQL server (initdb, pg_ctl) found: install PostgreSQL, or the backend's" \
         "PostgreSQL tests fail" >&2
  fi
fi

# The API fuzzer (scripts/fuzz_api.py) runs Schemathesis, which needs a newer Hypothesis than Brownie allows: it
# gets its own venv and only talks HTTP to the server.
if [ ! -x .venv-fuzz/bin/st ] || ! grep -q "$(grep -o 'schemathesis==[0-9.]*' scripts/fuzz_api.py)" .venv-fuzz/.installed 2>/dev/null; then
  echo "setup: installing the API fuzzer (Schemathesis) in .venv-fuzz"
  "$python" -m venv --clear .venv-fuzz
  spec=$(grep -o 'schemathesis==[0-9.]*' scripts/fuzz_api.py)
  .venv-fuzz/bin/python -m pip install --quiet --disable-pip-version-check "$spec"
  echo "$spec" > .venv-fuzz/.installed
fi

solc_version=$(node -p 'require("./node_modules/solc/package.json").version')
mkdir -p .venv/solcx
ln -sfn "$root/scripts/toolchain/solc-bridge.js" ".venv/solcx/solc-v$solc_version"
# The Makefile points py-solc-x at .venv/solcx (SOLCX_BINARY_PATH); this link lets a bare
# `brownie` or `pytest` run from the activated venv find the compiler too.
mkdir -p "$HOME/.solcx"
ln -sfn "$root/scripts/toolchain/solc-bridge.js" "$HOME/.solcx/solc-v$solc_version"
ln -sfn "$root/node_modules/.bin/anvil" .venv/bin/anvil
chmod +x scripts/toolchain/solc-bridge.js

grep -q "version: $solc_version" brownie-config.yaml || {
  echo "setup: brownie-config.yaml compiler.solc.version must be $solc_version (the npm solc)" >&2; exit 1; }
echo "setup: ready (Python $(.venv/bin/python -V | cut -d' ' -f2), solc $solc_version, $(.venv/bin/anvil --version | head -n1))"

# --- The web app (coopride.web): its assets are built here with esbuild (from npm), and its browser tests
# drive Debian's chromium through Playwright (Playwright's own browser download cannot work here).
web_dir=backend/coopride/web
if [ ! -f "$web_dir/static/dist/manifest.json" ] || \
   [ -n "$(find "$web_dir/frontend" package-lock.json -newer "$web_dir/static/dist/manifest.json" -type f -print -quit)" ]; then
  echo "setup: building the web app's assets (esbuild)"
  node "$web_dir/frontend/build.mjs"
fi
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's chromium for the web app's browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  else
    echo "setup: no chromium found: install Debian's chromium, or the web app's browser tests (tests/web) fail" >&2
  fi
fi

# --- The contracts: built here, so that everything after finds one settled build. Brownie settles a fresh build in
# two loads (the first compiles; the next prunes the artifacts of library contracts it no longer lists). The test
# suite's xdist workers load the project at the same moment: on an unsettled build one deleted a file another was
# reading, and Brownie's result aggregation found the workers disagreeing on the contracts' hashes.
if [ ! -f build/.settled ] || [ -n "$(find contracts brownie-config.yaml -newer build/.settled -type f -print -quit)" ]; then
  echo "setup: compiling the contracts (brownie)"
  for _ in 1 2; do
    SOLCX_BINARY_PATH="$root/.venv/solcx" .venv/bin/python -c "from brownie import project; project.load('.')" >/dev/null
  done
  touch build/.settled
fi
