"""The refusals services raise. Each says why in `detail`; `coopride.api.errors` maps each kind to its
HTTP status, and is the only place that does."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class Invalid(DomainError):
    """Well-formed input that makes no sense (a point outside every region, an unknown region, a passed deadline)."""


class NotFound(DomainError):
    """No such object."""


class Forbidden(DomainError):
    """Not the caller's to do: not a member, not their object, a signature that is not theirs."""


class Conflict(DomainError):
    """The request is valid, but the thing is not in a state that allows it."""


class Unauthorized(DomainError):
    """Who is asking is unknown."""


class SignInRefused(Unauthorized):
    """A sign-in attempt failed (unknown, used or expired nonce; edited message; wrong signer)."""


class NotSignedIn(Unauthorized):
    """No live session: no bearer token, an unknown one, or an expired one."""
