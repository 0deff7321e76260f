"""Checks on a request as a whole, before any route reads it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from coopride.api.write_gate import READ_METHODS
from coopride.db import mark_read_only
from coopride.services.errors import Invalid

# JSON escapes of UTF-16 surrogates and of NUL: only a body that contains one can carry a lone surrogate or a NUL.
_SUSPECT_ESCAPES = (b"\\ud", b"\\uD", b"\\u0000")


def _first_unencodable(document: Any) -> str | None:
    """What is wrong with the first text in `document` that holds a lone surrogate or a NUL (walked without
    recursion: a body may nest deeply)."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                return f"{ascii(value)[:80]} holds a lone surrogate"
            if "\x00" in value:
                return f"{ascii(value)[:80]} holds a NUL character"
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return None


async def read_requests_read_only(request: Request) -> None:
    """A GET's database transactions begin deferred, so reads never queue behind writers on SQLite. (An async
    dependency: the context variable it sets reaches the route, which runs in a copy of this task's context.)"""
    if request.method in READ_METHODS:
        mark_read_only()


async def require_encodable_text(request: Request) -> None:
    """Refuses (422) a JSON body whose text holds a lone UTF-16 surrogate (`"\\ud800"`), which Python parses into
    a string that no database, hash or response can encode, or a NUL (`"\\u0000"`), which PostgreSQL's text
    refuses."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    body = await request.body()
    if not any(escape in body for escape in _SUSPECT_ESCAPES):
        return
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return  # FastAPI answers malformed JSON itself
    found = _first_unencodable(parsed)
    if found:
        raise Invalid(f"text must be valid Unicode without NUL: {found}")
