"""`coopride run` as an operator starts it: on free ports and its own state directory (never colliding
with a real `make run`), it serves the API's /health, stops cleanly on SIGINT or SIGTERM with no child
left behind, and starts again afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from coopride.runner import free_port, port_in_use

START_TIMEOUT_SECONDS = 120


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _start(tmp_path: Path, anvil_port: int, api_port: int) -> subprocess.Popen:
    env = {**os.environ, "COOPRIDE_STATE_DIR": str(tmp_path / "state"), "COOPRIDE_ANVIL_PORT": str(anvil_port),
           "COOPRIDE_API_PORT": str(api_port)}
    for name in ("DATABASE_URL", "COOPRIDE_RPC_URL", "COOPRIDE_MANIFEST", "COOPRIDE_SETTLER_KEY", "COOPRIDE_DEPLOYER_KEY",
                 "COOPRIDE_ADMISSIONS_KEY", "COOPRIDE_ATTESTER_KEY", "COOPRIDE_AUTO_ADMIT"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "coopride.cli", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_healthy(process: subprocess.Popen, api_port: int) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"coopride run exited early:\n{process.stdout.read()}"
        try:
            response = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"no healthy API within {START_TIMEOUT_SECONDS} s:\n{process.stdout.read()}")


def test_coopride_run_serves_the_api_stops_cleanly_with_no_child_left_and_starts_again(tmp_path):
    anvil_port, api_port = free_port(), free_port()
    for attempt, stop_signal in (("first start", signal.SIGINT), ("second start", signal.SIGTERM)):
        process = _start(tmp_path, anvil_port, api_port)
        health = _wait_healthy(process, api_port)
        assert health["chain"] and health["database"], attempt
        children = _descendants(process.pid)
        assert len(children) >= 2, f"{attempt}: expected anvil and uvicorn under coopride run, found {children}"

        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, f"{attempt}:\n{output}"
        assert "stopped cleanly" in output
        assert "web app" in output and "API docs" in output and "manifest" in output and "settler" in output
        # The local chain's roles are anvil's accounts #2 and #3, and applications are admitted as they arrive.
        assert "admissions" in output and "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" in output, output
        assert "auto-admit" in output and "0x90F79bf6EB2c4f870365E785982E1f101E93b906" in output, output
        left = [pid for pid in children if _alive(pid)]
        assert not left, f"{attempt}: children still running after {stop_signal.name}: {left}"
        assert not port_in_use("127.0.0.1", anvil_port) and not port_in_use("127.0.0.1", api_port)
    assert (tmp_path / "state" / "deployments" / "31337" / "manifest.json").exists()
