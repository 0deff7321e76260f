"""Places, traces and polling for the end-to-end test."""

from __future__ import annotations

import time

# Places inside "Lyon 3e" (region 1 of the default region map).
LYON_FROM = {"lat": 45.7640, "lon": 4.8300}
LYON_TO = {"lat": 45.7550, "lon": 4.8550}
RIDE_FROM = {"lat": 45.7635, "lon": 4.8320}
RIDE_TO = {"lat": 45.7555, "lon": 4.8530}


def trace(start: dict, end: dict, *, fixes: int = 12, seconds_between: int = 20, ends_ago: int = 120) -> list[dict]:
    """A straight drive from `start` to `end` at city speed, ending `ends_ago` seconds ago."""
    end_time = int(time.time()) - ends_ago
    start_time = end_time - seconds_between * (fixes - 1)
    return [
        {
            "t": start_time + i * seconds_between,
            "lat": start["lat"] + (end["lat"] - start["lat"]) * i / (fixes - 1),
            "lon": start["lon"] + (end["lon"] - start["lon"]) * i / (fixes - 1),
        }
        for i in range(fixes)
    ]


def wait_for_trip(party, trip_id: int, status: str, timeout: float = 30.0) -> dict:
    """Polls the API until the embedded worker has moved the trip to `status`."""
    deadline = time.monotonic() + timeout
    while True:
        trip = party.get(f"/trips/{trip_id}").json()
        if trip["status"] == status or time.monotonic() > deadline:
            return trip
        time.sleep(0.2)
