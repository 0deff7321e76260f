"""Fixtures shared by the domain unit tests (plain Python, no chain)."""

from __future__ import annotations

import pytest
from trace_builders import straight_trace


@pytest.fixture
def drive_north():
    """1 km due north from Bellecour in 10 segments of 100 m, 10 s each (36 km/h)."""
    return straight_trace(fixes=11)
