"""End-to-end fixtures: the shared backend fixtures (tests/backend/conftest.py), with the app running its
embedded settlement worker, as `coopride run` does, instead of tests calling the worker by hand."""

from __future__ import annotations

import pytest

from coopride.api.main import create_app
from coopride.settlement.worker import embedded_worker
# Every shared backend fixture, as it is (a star import: pytest finds fixtures by name).
from tests.backend.conftest import *


@pytest.fixture
def app(settings, chain_client):
    settings = settings.model_copy(update={"settlement_max_age_seconds": 0, "settlement_batch_size": 20})
    app = create_app(settings, chain_client, lifespan=embedded_worker)
    yield app
    app.state.engine.dispose()
