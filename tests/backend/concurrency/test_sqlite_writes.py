"""SQLite under a crowd of writers: more concurrent signed-in writes than FastAPI has worker threads all get an
answer, none a 500 "database is locked" (issue 13's 64-client run; `coopride.api.write_gate`)."""

from __future__ import annotations

import time

from race_helpers import race

CLIENTS = 56  # above the 40 threads of FastAPI's pool


def test_more_concurrent_writers_than_worker_threads_all_get_an_answer(member, live_url, manifest):
    driver = member(manifest.regions[0].id)  # Lyon 3e, where the offer runs
    now = int(time.time())
    body = {"origin": {"lat": 45.7640, "lon": 4.8357}, "destination": {"lat": 45.7485, "lon": 4.8467},
            "depart_earliest": now + 600, "depart_latest": now + 1800, "seats": 2, "max_detour_m": 2000}

    answers = race(CLIENTS, lambda client: client.post("/offers", json=body, headers=driver.headers), live_url)

    assert [a.status_code for a in answers if a.status_code >= 500] == []
    assert sum(a.status_code == 201 for a in answers) >= 1
