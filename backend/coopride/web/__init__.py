"""The CoopRide web app, served by the API's own process: `mount_web(app)` adds it to `create_app`'s app.

- pages (`pages.py`): server-rendered Jinja2 pages in French or English, each with one small ES module;
- `/app/...` (`app_api.py`): the page configuration, public wallet facts, and the local chain's test-token tap;
- `/static/...` (`assets.py`): the assets esbuild built at set-up time (hashed names, `static/dist/manifest.json`);
- `/docs` (`docs.py`): Swagger UI from those assets, so the API docs work with no network.

The API's own paths are untouched.
"""

from __future__ import annotations

from fastapi import FastAPI

from coopride.web import app_api, assets, docs, pages


def mount_web(app: FastAPI) -> None:
    docs.serve_docs_offline(app)
    app.include_router(app_api.router)
    app.include_router(pages.router)
    app.mount("/static", assets.AssetFiles(directory=assets.STATIC_DIR), name="static")
