"""Refusals the plain modules raise; `create_app` turns each into its HTTP status with `{"detail": reason}`."""

from __future__ import annotations

from fastapi import status


class Refused(Exception):
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(Refused):
    status_code = status.HTTP_404_NOT_FOUND


class Forbidden(Refused):
    status_code = status.HTTP_403_FORBIDDEN


class Conflict(Refused):
    """The request is valid, but the thing is not in a state that allows it."""

    status_code = status.HTTP_409_CONFLICT


class Invalid(Refused):
    """Well-formed input that makes no sense (a point outside every region, an unknown region)."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
