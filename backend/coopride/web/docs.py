"""`/docs`: Swagger UI from the assets built at set-up time (swagger-ui-dist from npm), not from a CDN,
so that the API's interactive docs work on a machine with no network. ReDoc, which FastAPI would load
from a CDN, is removed (the OpenAPI document stays at `/openapi.json`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from coopride.web import assets


def serve_docs_offline(app: FastAPI) -> None:
    docs_url = app.docs_url or "/docs"
    replaced = {docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) not in replaced]

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        try:
            js, css, icon = (assets.vendor_url(name) for name in ("swagger_js", "swagger_css", "swagger_favicon"))
        except assets.AssetsNotBuilt as exc:
            return HTMLResponse(f"<!doctype html><title>CoopRide API</title><p>{exc}</p>", status_code=503)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=js,
            swagger_css_url=css,
            swagger_favicon_url=icon,
        )
