"""The CoopRide HTTP API (FastAPI). `create_app()` builds it; routes are thin adapters over `coopride.services`,
and `errors` maps the services' refusals to HTTP. Nothing else in `coopride` imports this package but the runner."""
