"""`/metrics` (Prometheus text format) and JSON logs with a request id, on a small app with the same install as the
API's (`coopride.api.metrics.install`)."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from coopride.api import metrics
from coopride.api.logging import JsonFormatter, configure_json_logging, request_id


@pytest.fixture
def app():
    metrics.REGISTRY.reset()
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict:
        logging.getLogger("coopride.test").info("reading item %d", item_id)
        return {"id": item_id, "request_id": request_id()}

    @app.get("/boom")
    def boom() -> dict:
        raise HTTPException(status_code=503, detail="down")

    @app.get("/crash")
    def crash() -> dict:
        raise RuntimeError("a bug")

    metrics.install(app)
    yield app
    metrics.REGISTRY.reset()


@pytest.fixture
def client(app):
    return TestClient(app, raise_server_exceptions=False)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name{labels}` (labels in any order) in an exposition; KeyError if absent."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)", line)
        assert match, f"not a sample line: {line!r}"
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if match.group(1) == name and found == labels:
            return float(match.group(3))
    raise KeyError(f"{name}{labels}")


def test_counts_and_times_requests_per_route_template(client):
    for item_id in (1, 2, 3):
        assert client.get(f"/items/{item_id}").status_code == 200
    assert client.get("/items/nope").status_code == 422
    assert client.get("/no/such/path").status_code == 404

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert sample(text, "coopride_http_requests_total", method="GET", route="/items/{item_id}", status="200") == 3
    assert sample(text, "coopride_http_requests_total", method="GET", route="/items/{item_id}", status="422") == 1
    assert sample(text, "coopride_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    # The histogram: cumulative buckets ending at +Inf == count, and a sum.
    labels = {"method": "GET", "route": "/items/{item_id}"}
    assert sample(text, "coopride_http_request_duration_seconds_count", **labels) == 4
    assert sample(text, "coopride_http_request_duration_seconds_bucket", le="+Inf", **labels) == 4
    assert sample(text, "coopride_http_request_duration_seconds_bucket", le="30", **labels) == 4
    assert sample(text, "coopride_http_request_duration_seconds_sum", **labels) > 0
    assert "# TYPE coopride_http_request_duration_seconds histogram" in text
    # /metrics does not count itself, and no path (only templates) appears as a label.
    assert 'route="/metrics"' not in text
    assert "/items/1" not in text


def test_counts_server_errors(client):
    assert client.get("/boom").status_code == 503
    assert client.get("/crash").status_code == 500
    text = client.get("/metrics").text
    assert sample(text, "coopride_http_server_errors_total", method="GET", route="/boom") == 1
    assert sample(text, "coopride_http_server_errors_total", method="GET", route="/crash") == 1
    assert sample(text, "coopride_http_requests_total", method="GET", route="/crash", status="500") == 1


def test_gauges_set_by_others_and_computed_at_scrape(client):
    metrics.set_gauge("coopride_open_book_size", 1234, "Open offers and requests.", region="1", kind="request")
    metrics.set_gauge("coopride_open_book_size", 17, region="1", kind="offer")
    queue = {"length": 5}
    metrics.gauge_callback("coopride_settlement_queue_length", "Trips waiting for settlement.", lambda: queue["length"])
    metrics.gauge_callback("coopride_broken", "A callback that fails is skipped.", lambda: 1 / 0)

    text = client.get("/metrics").text
    assert "# TYPE coopride_open_book_size gauge" in text
    assert "# HELP coopride_open_book_size Open offers and requests." in text
    assert sample(text, "coopride_open_book_size", region="1", kind="request") == 1234
    assert sample(text, "coopride_open_book_size", region="1", kind="offer") == 17
    assert sample(text, "coopride_settlement_queue_length") == 5
    queue["length"] = 2
    assert sample(client.get("/metrics").text, "coopride_settlement_queue_length") == 2
    assert "coopride_broken " not in text


def test_several_processes_are_summed_through_the_metrics_directory(tmp_path):
    """Two registries stand for two uvicorn workers: a scrape of either answers the sum."""
    first, second = metrics.Registry(), metrics.Registry()
    first.observe_request("POST", "/offers", 201, 0.02)
    second.observe_request("POST", "/offers", 201, 0.2)
    second.observe_request("POST", "/offers", 500, 0.3)
    first.set_gauge("coopride_open_book_size", 10)
    second.set_gauge("coopride_open_book_size", 12)  # set later: the newest value wins
    # Each process writes its own file; stand the second one in for another pid.
    second.flush(tmp_path, force=True)
    (tmp_path / "other.json").write_text((tmp_path / f"{__import__('os').getpid()}.json").read_text())
    text = metrics.exposition(first, tmp_path)
    assert sample(text, "coopride_http_requests_total", method="POST", route="/offers", status="201") == 2
    assert sample(text, "coopride_http_requests_total", method="POST", route="/offers", status="500") == 1
    assert sample(text, "coopride_http_server_errors_total", method="POST", route="/offers") == 1
    assert sample(text, "coopride_http_request_duration_seconds_count", method="POST", route="/offers") == 3
    assert sample(text, "coopride_http_request_duration_seconds_bucket", method="POST", route="/offers", le="0.025") == 1
    assert sample(text, "coopride_open_book_size") == 12


def test_request_id_is_echoed_or_made(client):
    sent = client.get("/items/1", headers={"X-Request-ID": "abc-123"})
    assert sent.headers["X-Request-ID"] == "abc-123"
    assert sent.json()["request_id"] == "abc-123"  # visible to the handler (and its logs)

    made = client.get("/items/1")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert made.json()["request_id"] == made.headers["X-Request-ID"]
    # Unusable ids (spaces, too long, control characters) are replaced, never echoed.
    for bad in ("two words", "x" * 129, 'quote"inside'):
        answer = client.get("/items/1", headers={"X-Request-ID": bad})
        assert answer.headers["X-Request-ID"] != bad
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    # Errors carry it too.
    assert client.get("/boom", headers={"X-Request-ID": "err-1"}).headers["X-Request-ID"] == "err-1"
    assert request_id() is None  # nothing leaks out of a request


def test_json_logs_carry_the_request_id(client):
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_json_logging(logging.INFO, stream)
        client.get("/items/7", headers={"X-Request-ID": "trace-7"})
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    mine = [line for line in lines if line.get("request_id") == "trace-7"]
    by_logger = {line["logger"]: line for line in mine}
    assert by_logger["coopride.test"]["message"] == "reading item 7"
    assert by_logger["coopride.test"]["level"] == "INFO"
    access = by_logger["coopride.access"]
    assert access["status"] == 200
    assert access["route"] == "/items/{item_id}"
    assert access["method"] == "GET"
    assert access["duration_ms"] >= 0
    assert access["time"].endswith("+00:00")


def test_json_formatter_outside_a_request_and_with_an_exception():
    record = logging.LogRecord("coopride.worker", logging.ERROR, __file__, 1, "batch %s failed", ("0x1",), None)
    try:
        raise ValueError("nonce too low")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "batch 0x1 failed"
    assert "request_id" not in entry
    assert "nonce too low" in entry["exception"]


def test_the_open_book_gauge_counts_open_offers_and_requests_per_region(tmp_path):
    from sqlmodel import Session

    from coopride.db import init_db, make_engine
    from coopride.models import RideRequest, TripOffer
    from coopride.models.enums import RequestStatus

    metrics.REGISTRY.reset()
    engine = make_engine(f"sqlite:///{tmp_path / 'book.db'}")
    init_db(engine)
    ends = {"origin_lat": 45.76, "origin_lon": 4.84, "destination_lat": 45.75, "destination_lon": 4.85}
    with Session(engine) as session:
        for region_id, status in ((1, RequestStatus.OPEN), (1, RequestStatus.OPEN), (2, RequestStatus.OPEN),
                                  (1, RequestStatus.CANCELLED)):
            session.add(RideRequest(rider="0x" + "1" * 40, region_id=region_id, earliest=1, latest=2,
                                    estimated_metres=1000, fare_per_km=0, quoted_fare=0, status=status, **ends))
        session.add(TripOffer(driver="0x" + "2" * 40, region_id=1, depart_earliest=1, depart_latest=2, seats=3,
                              max_detour_m=500, **ends))
        session.commit()
    app = FastAPI()
    app.state.engine = engine
    metrics.install(app)
    metrics.install_gauges(app)
    try:
        text = TestClient(app).get("/metrics").text
        assert sample(text, "coopride_open_book_size", region="1", side="requests") == 2
        assert sample(text, "coopride_open_book_size", region="2", side="requests") == 1
        assert sample(text, "coopride_open_book_size", region="1", side="offers") == 1
    finally:
        metrics.REGISTRY.reset()
        engine.dispose()
