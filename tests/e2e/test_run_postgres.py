"""`coopride run --postgres` (`make run-pg`): a private PostgreSQL server, several API processes on one port sharing
it, and exactly one settlement worker process; `/metrics` answers for every process; the request id is echoed.
And the launcher's sockets: several uvicorn workers answer a keep-alive client without Nagle's 40 ms delay."""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from coopride.runner import free_port, port_in_use, serve_command

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 180


def _clean_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    for name in ("DATABASE_URL", "COOPRIDE_RPC_URL", "COOPRIDE_MANIFEST", "COOPRIDE_SETTLER_KEY", "COOPRIDE_DEPLOYER_KEY",
                 "COOPRIDE_ADMISSIONS_KEY", "COOPRIDE_ATTESTER_KEY", "COOPRIDE_AUTO_ADMIT", "COOPRIDE_API_WORKERS",
                 "COOPRIDE_METRICS_DIR"):
        env.pop(name, None)
    return env


def _wait_healthy(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited early:\n{process.stdout.read() if process.stdout else ''}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"{url} not healthy within {START_TIMEOUT_SECONDS} s")


def _metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_run_postgres_serves_from_several_processes_with_one_settlement_worker(tmp_path):
    anvil_port, api_port = free_port(), free_port()
    state = tmp_path / "state"
    env = _clean_env(COOPRIDE_STATE_DIR=str(state), COOPRIDE_ANVIL_PORT=str(anvil_port),
                     COOPRIDE_API_PORT=str(api_port), COLUMNS="200")
    process = subprocess.Popen([sys.executable, "-m", "coopride.cli", "run", "--postgres", "--workers", "2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    url = f"http://127.0.0.1:{api_port}"
    try:
        _wait_healthy(process, url)
        # Both API processes answer; a scrape of either counts every process's requests.
        with httpx.Client(base_url=url, timeout=10) as client:
            for index in range(30):
                answer = client.get("/regions", headers={"X-Request-ID": f"run-pg-{index}"})
                assert answer.status_code == 200, answer.text
                assert answer.headers["X-Request-ID"] == f"run-pg-{index}"
        time.sleep(1.5)  # each process writes its figures within a second
        with httpx.Client(base_url=url, timeout=10) as fresh:  # a new connection, maybe to the other process
            counted = [
                _metric_sum(fresh.get("/metrics").text, "coopride_http_requests_total", route="/regions")
                for _ in range(4)
            ]
        assert all(value >= 30 for value in counted), (counted, process.poll())
        # The open book's gauge, computed from the database at each scrape (nothing is open yet: absent or zero).
        text = httpx.get(f"{url}/metrics", timeout=10).text
        assert "# TYPE coopride_open_book_size gauge" in text
        # The worker process may still be importing on a loaded machine: stopping it then is no clean stop.
        settlement_log, deadline = state / "logs" / "settlement.log", time.monotonic() + 60
        while not (settlement_log.exists() and "settlement worker started" in settlement_log.read_text()):
            assert time.monotonic() < deadline and process.poll() is None, "the settlement worker did not start"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    assert "PostgreSQL, 2 API processes + 1 settlement worker process" in output, output
    assert "postgresql+psycopg://" in output
    logs = state / "logs"
    # Exactly one settlement worker: its own process, none inside the API processes.
    assert (logs / "settlement.log").read_text().count("settlement worker started") == 1
    assert "settlement worker started" not in (logs / "api.log").read_text()
    # The API logs are JSON lines carrying the request id.
    api_log = (logs / "api.log").read_text()
    assert '"request_id": "run-pg-7"' in api_log
    assert not port_in_use("127.0.0.1", api_port) and not port_in_use("127.0.0.1", anvil_port)


def test_several_workers_answer_without_nagle_delay(tmp_path):
    """uvicorn's own `--workers` leaves Nagle on (a protocol-0 socket): ~40 ms per keep-alive request. The runner's
    launcher does not."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen(serve_command("api:bare_app", "127.0.0.1", port, 2), env=env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(server, url)
        with httpx.Client(base_url=url) as client:
            client.get("/health")
            durations = []
            for _ in range(30):
                started = time.perf_counter()
                assert client.get("/health").status_code == 200
                durations.append(time.perf_counter() - started)
        assert statistics.median(durations) < 0.025, durations
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)
