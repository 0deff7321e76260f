"""`GET /metrics` in the Prometheus text format (0.0.4), and the per-request middleware that feeds it and the logs.

Metrics (no client library: prometheus-client is not among the pinned dependencies, and the format is small):
- `coopride_http_requests_total{method, route, status}`: counter per route *template* (`/trips/{trip_id}`, so the
  label set stays small; a path that matches no route counts as `route="<unmatched>"`);
- `coopride_http_request_duration_seconds{method, route}`: histogram of the time to the last byte of the answer;
- `coopride_http_server_errors_total{method, route}`: answers with a 5xx status (any is a bug);
- gauges others set: `set_gauge("coopride_open_book_size", 1234, region="1")`, or computed at each scrape by a
  callback registered with `gauge_callback(name, help, fn)` (`fn()` returns a number, or `{labels: value}`).

Several API processes (uvicorn workers): when `settings.metrics_dir` is set (env COOPRIDE_METRICS_DIR; `coopride run`
sets it in that mode), each process writes its figures to `<dir>/<pid>.json` within a second of a change and when
scraped, and a scrape answers the sum over every process's file (counters and histograms summed; for a gauge, the
newest value). Without it, a process answers for itself.

`install(app)` adds both the middleware (request id, access log, metrics) and the route.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coopride.api.logging import REQUEST_ID_HEADER, accept_request_id, bind_request_id, reset_request_id

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Prometheus' default buckets, plus the long tail a chain round trip can take.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0)
UNMATCHED = "<unmatched>"
FLUSH_INTERVAL_SECONDS = 1.0

REQUESTS = "coopride_http_requests_total"
DURATION = "coopride_http_request_duration_seconds"
SERVER_ERRORS = "coopride_http_server_errors_total"

access_log = logging.getLogger("coopride.access")

Labels = tuple[tuple[str, str], ...]
GaugeValue = float | dict[Labels, float]


def _labels(**labels: object) -> Labels:
    return tuple(sorted((key, str(value)) for key, value in labels.items()))


class Registry:
    """This process's figures: plain dicts under one lock (a request adds to three of them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, dict[Labels, float]] = {REQUESTS: {}, SERVER_ERRORS: {}}
        # name -> labels -> [bucket counts..., +Inf count, sum]
        self.histograms: dict[str, dict[Labels, list[float]]] = {DURATION: {}}
        # name -> labels -> (value, time set)
        self.gauges: dict[str, dict[Labels, tuple[float, float]]] = {}
        self.help: dict[str, str] = {
            REQUESTS: "HTTP requests answered, per route template, method and status.",
            SERVER_ERRORS: "HTTP requests answered with a 5xx status (each one is a bug).",
            DURATION: "Time from a request's arrival to its answer's last byte, per route template.",
        }
        self.callbacks: dict[str, Callable[[], float | dict[Labels, float]]] = {}
        self._last_flush = 0.0
        self._dirty = False
        self._flusher: threading.Thread | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._dirty = True
            key = _labels(method=method, route=route, status=status)
            self.counters[REQUESTS][key] = self.counters[REQUESTS].get(key, 0.0) + 1
            short = _labels(method=method, route=route)
            if status >= 500:
                self.counters[SERVER_ERRORS][short] = self.counters[SERVER_ERRORS].get(short, 0.0) + 1
            series = self.histograms[DURATION].get(short)
            if series is None:
                series = self.histograms[DURATION][short] = [0.0] * (len(BUCKETS) + 2)
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    series[index] += 1
                    break
            else:
                series[len(BUCKETS)] += 1
            series[-1] += seconds

    def keep_flushing(self, directory: Path) -> None:
        """Starts (once) a daemon thread that writes this process's figures to `directory` within a second of any
        change, so that a scrape answered by another process sees them."""
        if self._flusher is not None:
            return

        def loop() -> None:
            while True:
                time.sleep(FLUSH_INTERVAL_SECONDS / 2)
                if self._dirty:
                    try:
                        self.flush(directory, force=True)
                    except OSError:
                        access_log.exception("could not write the metrics to %s", directory)

        self._flusher = threading.Thread(target=loop, name="metrics-flush", daemon=True)
        self._flusher.start()

    def set_gauge(self, name: str, value: float, help_text: str = "", **labels: object) -> None:
        with self._lock:
            self._dirty = True
            self.gauges.setdefault(name, {})[_labels(**labels)] = (float(value), time.time())
            if help_text:
                self.help[name] = help_text

    def gauge_callback(self, name: str, help_text: str, read: Callable[[], float | dict[Labels, float]]) -> None:
        self.callbacks[name] = read
        self.help[name] = help_text

    def reset(self) -> None:
        """Forgets every figure and callback (tests)."""
        fresh = Registry()
        with self._lock:
            self.counters, self.histograms, self.gauges = fresh.counters, fresh.histograms, fresh.gauges
            self.help, self.callbacks = fresh.help, fresh.callbacks

    # ------------------------------------------------------------- processes
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "counters": {n: [[list(k), v] for k, v in s.items()] for n, s in self.counters.items()},
                "histograms": {n: [[list(k), list(v)] for k, v in s.items()] for n, s in self.histograms.items()},
                "gauges": {n: [[list(k), v[0], v[1]] for k, v in s.items()] for n, s in self.gauges.items()},
                "help": dict(self.help),
            }

    def flush(self, directory: Path, *, force: bool = False) -> None:
        """Writes this process's snapshot to `directory/<pid>.json` (atomically), at most once a second unless
        forced."""
        now = time.monotonic()
        if not force and now - self._last_flush < FLUSH_INTERVAL_SECONDS:
            return
        self._last_flush = now
        self._dirty = False
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{os.getpid()}.json"
        temporary = directory / f".{os.getpid()}.json.tmp"
        temporary.write_text(json.dumps(self.snapshot()))
        temporary.replace(target)


REGISTRY = Registry()


def set_gauge(name: str, value: float, help_text: str = "", **labels: object) -> None:
    """Sets gauge `name{labels}` (e.g. `set_gauge("coopride_settlement_queue_length", 12)`)."""
    REGISTRY.set_gauge(name, value, help_text, **labels)


def gauge_callback(name: str, help_text: str, read: Callable[[], float | dict[Labels, float]]) -> None:
    """Gauge `name` computed at each scrape by `read()`: a number, or `{labels: value}` with labels made by
    `labels(region="1")`. A callback that raises is skipped for that scrape (and logged)."""
    REGISTRY.gauge_callback(name, help_text, read)


def labels(**values: object) -> Labels:
    return _labels(**values)


# ------------------------------------------------------------------ exposition
def _merge(snapshots: Iterable[dict[str, Any]]) -> dict[str, Any]:
    counters: dict[str, dict[Labels, float]] = {}
    histograms: dict[str, dict[Labels, list[float]]] = {}
    gauges: dict[str, dict[Labels, tuple[float, float]]] = {}
    help_texts: dict[str, str] = {}
    for snap in snapshots:
        help_texts.update(snap.get("help", {}))
        for name, series in snap.get("counters", {}).items():
            target = counters.setdefault(name, {})
            for key, value in series:
                label_key = tuple(tuple(pair) for pair in key)
                target[label_key] = target.get(label_key, 0.0) + value
        for name, series in snap.get("histograms", {}).items():
            target_h = histograms.setdefault(name, {})
            for key, values in series:
                label_key = tuple(tuple(pair) for pair in key)
                into = target_h.setdefault(label_key, [0.0] * len(values))
                for index, value in enumerate(values):
                    into[index] += value
        for name, series in snap.get("gauges", {}).items():
            target_g = gauges.setdefault(name, {})
            for key, value, when in series:
                label_key = tuple(tuple(pair) for pair in key)
                if label_key not in target_g or target_g[label_key][1] <= when:
                    target_g[label_key] = (value, when)
    return {"counters": counters, "histograms": histograms, "gauges": gauges, "help": help_texts}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _label_text(key: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = [*key, *extra]
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exposition(registry: Registry = REGISTRY, directory: Path | None = None) -> str:
    """The text format: this process's figures, or, with `directory`, every process's there summed."""
    if directory is not None:
        registry.flush(directory, force=True)
        snapshots = []
        for path in sorted(directory.glob("*.json")):
            try:
                snapshots.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):  # a file being replaced: its process answers next time
                continue
        merged = _merge(snapshots)
    else:
        merged = _merge([registry.snapshot()])
    for name, read in list(registry.callbacks.items()):
        try:
            value = read()
        except Exception:
            access_log.exception("metrics callback %s failed", name)
            continue
        now = time.time()
        series = value if isinstance(value, dict) else {(): float(value)}
        merged["gauges"][name] = {key: (float(v), now) for key, v in series.items()}
    lines: list[str] = []
    help_texts = merged["help"]
    for name, series in sorted(merged["counters"].items()):
        lines += [f"# HELP {name} {help_texts.get(name, name)}", f"# TYPE {name} counter"]
        lines += [f"{name}{_label_text(key)} {_number(value)}" for key, value in sorted(series.items())]
    for name, series_h in sorted(merged["histograms"].items()):
        lines += [f"# HELP {name} {help_texts.get(name, name)}", f"# TYPE {name} histogram"]
        for key, values in sorted(series_h.items()):
            cumulative = 0.0
            for bound, count in zip((*BUCKETS, float("inf")), values[:-1], strict=True):
                cumulative += count
                lines.append(f"{name}_bucket{_label_text(key, (('le', _number(bound)),))} {_number(cumulative)}")
            lines.append(f"{name}_sum{_label_text(key)} {_number(values[-1])}")
            lines.append(f"{name}_count{_label_text(key)} {_number(cumulative)}")
    for name, series_g in sorted(merged["gauges"].items()):
        lines += [f"# HELP {name} {help_texts.get(name, name)}", f"# TYPE {name} gauge"]
        lines += [f"{name}{_label_text(key)} {_number(value)}" for key, (value, _when) in sorted(series_g.items())]
    return "\n".join(lines) + "\n"


def metrics_directory(app: Any) -> Path | None:
    """`settings.metrics_dir` of the app (env COOPRIDE_METRICS_DIR), if it has settings."""
    settings = getattr(app.state, "settings", None)
    directory = getattr(settings, "metrics_dir", None)
    return Path(directory) if directory else None


async def metrics_endpoint(request: Request) -> Response:
    return Response(exposition(REGISTRY, metrics_directory(request.app)), media_type=CONTENT_TYPE)


# ------------------------------------------------------------------ middleware
class ObservabilityMiddleware:
    """Per HTTP request: binds its request id (echoed in `X-Request-ID`), counts and times it under its route
    template, and writes one `coopride.access` log line. Plain ASGI: no extra task per request."""

    def __init__(self, app: ASGIApp, registry: Registry = REGISTRY, directory: Path | None = None) -> None:
        self.app = app
        self.registry = registry
        self.directory = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                sent_id = value.decode("latin-1")
                break
        request_id = accept_request_id(sent_id)
        token = bind_request_id(request_id)
        started = time.perf_counter()
        status = 500
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = scope.get("path", "")
            template = getattr(route, "path", None) or ("/metrics" if path == "/metrics" else UNMATCHED)
            method = scope.get("method", "")
            if template != "/metrics":
                self.registry.observe_request(method, template, status, elapsed)
                if self.directory is not None:
                    self.registry.keep_flushing(self.directory)
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                elapsed * 1000,
                extra={"method": method, "route": template, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
            reset_request_id(token)


def install_gauges(app: FastAPI) -> FastAPI:
    """The gauges `coopride run` adds, computed from the database at each scrape: the open book per region and side
    (`coopride_open_book_size{region, side="offers"|"requests"}`). Returns `app`."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from coopride.models import RideRequest, TripOffer
    from coopride.models.enums import OfferStatus, RequestStatus

    engine = app.state.engine

    def open_book() -> dict[Labels, float]:
        sizes: dict[Labels, float] = {}
        sides: tuple[tuple[str, Any, str], ...] = (
            ("offers", TripOffer, OfferStatus.OPEN),
            ("requests", RideRequest, RequestStatus.OPEN),
        )
        with Session(engine) as session:
            for side, model, status in sides:
                rows = session.exec(
                    select(model.region_id, func.count()).where(model.status == status).group_by(model.region_id)
                ).all()
                for region_id, count in rows:
                    sizes[labels(region=region_id, side=side)] = float(count)
        return sizes

    gauge_callback("coopride_open_book_size", "Open offers and requests, per region.", open_book)
    return app


def install(app: FastAPI) -> None:
    """Adds the middleware and `GET /metrics` (outside the OpenAPI document) to `app`."""
    app.add_middleware(ObservabilityMiddleware, directory=metrics_directory(app))
    app.router.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
