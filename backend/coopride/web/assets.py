"""The built front-end assets: where they are, which files each page loads, and how they are served.

`node backend/coopride/web/frontend/build.mjs` (run by scripts/setup.sh) writes `static/dist/` and its
`manifest.json`: per page its entry module, the chunks it imports at once (`preload`) and those it may
import later (`lazy`); the stylesheet; Swagger UI's files. Every name carries a content hash, so they
are served with a one-year immutable cache. The build also writes a gzip copy of each script and
stylesheet (`<name>.gz`), sent to browsers that accept gzip.
"""

from __future__ import annotations

import json
import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
DIST_DIR = STATIC_DIR / "dist"
MANIFEST_PATH = DIST_DIR / "manifest.json"
BUILD_COMMAND = "node backend/coopride/web/frontend/build.mjs (or `make setup`)"


class AssetsNotBuilt(RuntimeError):
    pass


@lru_cache(maxsize=4)
def _read_manifest(path: Path, mtime_ns: int) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(path.read_text()))


def manifest() -> dict:
    """The asset manifest; AssetsNotBuilt when set-up has not built the front end yet."""
    try:
        mtime = MANIFEST_PATH.stat().st_mtime_ns
    except FileNotFoundError:
        raise AssetsNotBuilt(f"the web app's assets are not built: run {BUILD_COMMAND}") from None
    return _read_manifest(MANIFEST_PATH, mtime)


def url(path: str) -> str:
    return f"/static/dist/{path}"


def page_assets(page: str) -> dict:
    """{"entry", "preload", "css"} URLs for one page."""
    built = manifest()
    try:
        entry = built["pages"][page]
    except KeyError:
        raise AssetsNotBuilt(f"no built module for page {page!r}: run {BUILD_COMMAND}") from None
    return {"entry": url(entry["entry"]), "preload": [url(p) for p in entry["preload"]], "css": url(built["css"])}


def vendor_url(name: str) -> str:
    return url(manifest()["vendor"][name])


class AssetFiles(StaticFiles):
    """Static files; hashed names under dist/ are cached for a year, and sent gzipped when the browser takes it."""

    def __init__(self, *, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(directory=directory, check_dir=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        path = path.replace("\\", "/")
        hashed = path.startswith("dist/") and not path.endswith("manifest.json")
        response = None
        if hashed and "gzip" in Headers(scope=scope).get("accept-encoding", ""):
            try:
                response = await super().get_response(f"{path}.gz", scope)
            except HTTPException:
                response = None
            if response is not None and response.status_code == 200:
                media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
                if media_type.startswith("text/") or media_type.endswith("javascript"):
                    media_type += "; charset=utf-8"
                response.headers["content-type"] = media_type
                response.headers["content-encoding"] = "gzip"
            else:
                response = None
        if response is None:
            response = await super().get_response(path, scope)
        if hashed and response.status_code in (200, 304):
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
            response.headers["vary"] = "Accept-Encoding"
        return response
