"""Browser tests of the web app: Playwright for Python driving Debian's chromium against a real stack.

One stack for the whole run (`web_stack`): anvil on a free port, the contracts deployed by
scripts/deploy.py, and uvicorn serving the API with its settlement worker and the web app, started by
`coopride.runner.Stack` exactly as `coopride run` starts them. Each test makes its own people (fresh
wallets), so tests share the chain without sharing state.

Playwright's own browser download cannot work here: the launch uses the system's `chromium`
(scripts/setup.sh installs it) with the flags a closed network needs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from web3 import Web3

from coopride.config import REPO_ROOT, Settings
from coopride.runner import Stack, free_port
from coopride.web.assets import MANIFEST_PATH, WEB_DIR
from web_helpers import MEDIATOR_ADDRESS, Chain

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
FRONTEND_DIR = WEB_DIR / "frontend"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _assets_are_stale() -> bool:
    if not MANIFEST_PATH.exists():
        return True
    built = MANIFEST_PATH.stat().st_mtime
    return any(source.stat().st_mtime > built for source in FRONTEND_DIR.rglob("*") if source.is_file())


@pytest.fixture(scope="session", autouse=True)
def built_assets():
    """The tests run against the current sources: the assets are rebuilt when a source is newer than them."""
    if _assets_are_stale():
        subprocess.run(["node", str(FRONTEND_DIR / "build.mjs")], check=True, cwd=REPO_ROOT)


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory, built_assets):
    state_dir = tmp_path_factory.mktemp("web-stack")
    # settle each trip as soon as it may be settled, one per batch
    settings = Settings(state_dir=state_dir, anvil_port=free_port(), api_port=free_port(),
                        settlement_max_age_seconds=0, settlement_batch_size=1)
    # a mediator for the dispute test (anvil's dev account #5; web_helpers.MEDIATOR_KEY)
    stack = Stack(settings, deploy_params={"mediators": [MEDIATOR_ADDRESS]}, log=lambda _text: None)
    with stack as info:
        yield info
    # the API's log helps when a browser test fails for a server-side reason
    log = Path(info.log_dir) / "api.log"
    if log.exists() and "Traceback" in log.read_text(errors="replace"):
        print(f"\n--- {log} ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def base_url(web_stack) -> str:
    return web_stack.api_url


@pytest.fixture(scope="session")
def chain(web_stack) -> Chain:
    manifest = json.loads(Path(web_stack.manifest_path).read_text())
    return Chain(Web3(Web3.HTTPProvider(web_stack.rpc_url)), manifest)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make setup` as root, or `apt-get install chromium`")
    return {"executable_path": executable, "args": CHROMIUM_FLAGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(base_url):
    return {"base_url": base_url, "viewport": PHONE, "locale": "en-GB"}
