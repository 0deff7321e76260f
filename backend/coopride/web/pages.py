"""The pages: server-rendered Jinja2 templates (structure and text, in French or English), each loading
one ES module from the built assets. The data is the API's: each page's module calls it with the
person's session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from coopride.web import assets
from coopride.web.app_api import page_config, web_settings
from coopride.web.i18n import COOKIE, LANGUAGES, choose_language, js_messages, translator

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(assets.WEB_DIR / "templates"))

# name -> (path, nav key); the order of the navigation.
NAVIGATION = (
    ("home", "/", "nav.home"),
    ("rider", "/rider", "nav.rider"),
    ("driver", "/driver", "nav.driver"),
    ("statement", "/statement", "nav.statement"),
    ("regions", "/region", "nav.regions"),
    ("proposals", "/proposals", "nav.proposals"),
)
ONE_YEAR = 365 * 24 * 3600


def _content_security_policy(tile_url: str | None) -> str:
    images = "'self' data:"
    if tile_url:
        # the tile server's origin; Leaflet's {s} subdomains become a wildcard
        scheme, _, rest = tile_url.partition("://")
        host = rest.split("/", 1)[0].replace("{s}.", "*.")
        images += f" {scheme}://{host}"
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def render(request: Request, page: str, title_key: str, **context: Any) -> HTMLResponse:
    requested = request.query_params.get("lang")
    lang = choose_language(requested, request.cookies.get(COOKIE), request.headers.get("accept-language"))
    t = translator(lang)
    try:
        page_assets, assets_error = assets.page_assets(page), None
    except assets.AssetsNotBuilt as exc:
        page_assets, assets_error = None, str(exc)
    config = {**page_config(request), "lang": lang, "page": page, "messages": js_messages(lang)}
    response = templates.TemplateResponse(
        request,
        f"{page}.html",
        {
            "t": t,
            "lang": lang,
            "languages": LANGUAGES,
            "page": page,
            "title": t(title_key),
            "navigation": NAVIGATION,
            "assets": page_assets,
            "assets_error": assets_error,
            "config": config,
            **context,
        },
    )
    if requested in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=ONE_YEAR, samesite="lax")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Security-Policy"] = _content_security_policy(web_settings(request).tile_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home", "home.title")


@router.get("/rider", response_class=HTMLResponse)
def rider(request: Request) -> HTMLResponse:
    return render(request, "rider", "rider.title")


@router.get("/driver", response_class=HTMLResponse)
def driver(request: Request) -> HTMLResponse:
    return render(request, "driver", "driver.title")


@router.get("/statement", response_class=HTMLResponse)
def statement(request: Request) -> HTMLResponse:
    return render(request, "statement", "statement.title")


@router.get("/region", response_class=HTMLResponse)
def regions(request: Request) -> HTMLResponse:
    return render(request, "regions", "regions.title", region_id=None)


@router.get("/region/{region_id}", response_class=HTMLResponse)
def region(request: Request, region_id: Annotated[int, Path(ge=1, lt=2**32)]) -> HTMLResponse:
    return render(request, "regions", "regions.title", region_id=region_id)


@router.get("/proposals", response_class=HTMLResponse)
def proposals(request: Request) -> HTMLResponse:
    return render(request, "proposals", "proposals.title")
