"""JSON logs with a request id: one JSON object per line, each carrying the id of the request it was written in.

A request's id is its `X-Request-ID` header when the client (or a proxy in front) sends a usable one, else a fresh
random id; the response echoes it in `X-Request-ID`, and every log line written while the request is handled (the
access line `coopride.access` included) carries it as `request_id`. `coopride run` configures the API processes'
logging with `configure_json_logging`; the middleware lives in `coopride.api.metrics` (one pass per request for
both).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# What a client may send as its own id: printable, no spaces, at most 128 characters (anything else gets a fresh id,
# so that a log line can never be forged or bloated through the header).
_USABLE_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")

_request_id: ContextVar[str | None] = ContextVar("coopride_request_id", default=None)

# The LogRecord attributes every record has; anything else passed through `extra=` goes into the JSON object.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def request_id() -> str | None:
    """The id of the request being handled in this context (None outside a request)."""
    return _request_id.get()


def accept_request_id(sent: str | None) -> str:
    """The client's id if usable, else a fresh one (32 hex digits)."""
    if sent and _USABLE_ID.match(sent):
        return sent
    return uuid.uuid4().hex


def bind_request_id(value: str | None) -> Any:
    """Sets the current request id; returns the token for `reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token: Any) -> None:
    _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id"?, ...extra, "exception"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = getattr(record, "request_id", None) or _request_id.get()
        if current:
            entry["request_id"] = current
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """The root logger writes JSON lines to `stream` (default stderr), replacing its handlers; uvicorn's own
    loggers propagate to it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # uvicorn's access line says less than `coopride.access` (no request id, no duration): keep one of them.
    logging.getLogger("uvicorn.access").disabled = True
