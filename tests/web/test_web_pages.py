"""The pages as the server renders them: language, assets, headers, offline API docs, the JS budget, and
the local-chain-only test-token tap. No browser needed: plain HTTP against the running stack."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from coopride.api.main import create_app
from coopride.chain.client import ChainClient
from coopride.chain.manifest import Manifest
from coopride.config import Settings
from coopride.web import budget
from coopride.web.app_api import is_local_chain
from coopride.web.assets import DIST_DIR, manifest as asset_manifest
from coopride.web.i18n import CATALOG_DIR, choose_language

PAGES = ["/", "/rider", "/driver", "/statement", "/region", "/region/1", "/proposals"]
SOURCES = Path(__file__).resolve().parents[2] / "backend" / "coopride" / "web"


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("accept, lang, word", [("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Voyager"),
                                                ("en-GB,en;q=0.9", "en", "Ride"),
                                                ("de-DE", "fr", "Voyager")])
def test_every_page_speaks_the_browsers_language_with_every_text_translated(web_stack, path, accept, lang, word):
    response = httpx.get(web_stack.api_url + path, headers={"Accept-Language": accept})
    assert response.status_code == 200
    html = response.text
    assert f'<html lang="{lang}">' in html
    assert response.headers["content-language"] == lang
    assert f">{word}</a>" in html  # the navigation
    assert "⟦" not in html, re.findall(r"⟦[^⟧]+⟧", html)


def test_the_language_switch_is_remembered_in_a_cookie(web_stack):
    with httpx.Client(base_url=web_stack.api_url) as client:
        switched = client.get("/rider?lang=en", headers={"Accept-Language": "fr"})
        assert '<html lang="en">' in switched.text and switched.cookies.get("coopride_lang") == "en"
        later = client.get("/driver", headers={"Accept-Language": "fr"})
        assert '<html lang="en">' in later.text


def test_accept_language_quality_values_decide_between_french_and_english():
    assert choose_language(None, None, "en;q=0.4, fr;q=0.8") == "fr"
    assert choose_language(None, None, "fr;q=0, en-US") == "en"
    assert choose_language("en", "fr", "fr") == "en"
    assert choose_language(None, "en", "fr") == "en"
    assert choose_language("es", None, None) == "fr"


def test_french_and_english_catalogs_have_the_same_keys_and_every_key_the_code_uses():
    catalogs = {lang: json.loads((CATALOG_DIR / f"{lang}.json").read_text()) for lang in ("en", "fr")}
    assert set(catalogs["en"]) == set(catalogs["fr"])
    used = set()
    for source in (SOURCES / "frontend" / "src").rglob("*.js"):
        used |= set(re.findall(r't\(\s*"(js\.[a-z0-9_.]+)"', source.read_text()))
    for template in (SOURCES / "templates").glob("*.html"):
        used |= set(re.findall(r"t\('([a-z0-9_.]*[a-z0-9_])'\)", template.read_text()))
    assert used - set(catalogs["en"]) == set()


def test_pages_load_only_same_origin_assets_and_forbid_anything_else(web_stack):
    response = httpx.get(web_stack.api_url + "/driver")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert url.startswith(("/", "?", "#")) and not url.startswith("//"), url
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text):
        fetched = httpx.get(web_stack.api_url + asset, headers={"Accept-Encoding": "gzip"})
        assert fetched.status_code == 200, asset
        if "/dist/" in asset:
            assert "immutable" in fetched.headers["cache-control"]
            assert fetched.headers.get("content-encoding") == "gzip"


def test_api_docs_are_swagger_ui_served_from_this_server(web_stack):
    html = httpx.get(web_stack.api_url + "/docs").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: *'([^']+)'", html)
    assert any("swagger-ui-bundle" in url for url in urls)
    for url in urls:
        assert url.startswith("/"), f"/docs loads {url} from elsewhere"
        assert httpx.get(web_stack.api_url + url).status_code == 200, url
    assert httpx.get(web_stack.api_url + "/redoc").status_code == 404  # ReDoc would need a CDN


def test_no_page_loads_more_than_150_kb_of_compressed_javascript():
    sizes = budget.measure(asset_manifest(), DIST_DIR)
    assert set(sizes) == {"home", "rider", "driver", "statement", "regions", "proposals"}
    for page, size in sizes.items():
        assert size.total_bytes == size.eager_bytes + size.lazy_bytes
        assert size.total_bytes <= budget.BUDGET_BYTES, f"{page}: {size.total_bytes / 1024:.1f} KB of gzipped JS"
    # the measure is of real bytes: the driver page carries Leaflet (about 40 KB gzipped) at least
    assert sizes["driver"].eager_bytes > 40_000
    entry = asset_manifest()["pages"]["home"]["entry"]
    assert sizes["home"].eager_bytes >= len(gzip.compress((DIST_DIR / entry).read_bytes()))


def test_the_local_chain_is_anvils_chain_id_on_this_machine_only():
    assert is_local_chain(31337, "http://127.0.0.1:8545")
    assert is_local_chain(1337, "http://localhost:8545")
    assert not is_local_chain(1, "http://127.0.0.1:8545")
    assert not is_local_chain(31337, "https://rpc.example.org")


def test_test_tokens_are_refused_on_any_chain_that_is_not_local(web_stack, chain, tmp_path):
    """The same real node and contracts, but a manifest that says chain 10 (as a public chain's would)."""
    data = json.loads(Path(web_stack.manifest_path).read_text())
    data["chainId"] = 10
    manifest = Manifest.from_dict(data)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}", rpc_url=web_stack.rpc_url,
                        manifest_path=web_stack.manifest_path, settler_key=web_stack.settler_key)
    app = create_app(settings, ChainClient(web_stack.rpc_url, manifest, web_stack.settler_key))
    someone = Account.create().address
    with TestClient(app) as client:
        refused = client.post("/app/faucet", json={"address": someone})
        config = client.get("/app/config.json").json()
        page = client.get("/rider").text
    app.state.engine.dispose()
    assert refused.status_code == 403 and "only given on the local development chain" in refused.json()["detail"]
    assert chain.token_balance(someone) == 0
    assert config["local"] is False and config["chainId"] == 10
    assert '"local": false' in page


def test_the_local_tap_mints_100_test_tokens_to_the_address_asked(web_stack, chain):
    someone = Account.create().address
    minted = httpx.post(web_stack.api_url + "/app/faucet", json={"address": someone})
    assert minted.status_code == 201
    assert int(minted.json()["amount"]) == 100 * 10**6 == chain.token_balance(someone)
    bad = httpx.post(web_stack.api_url + "/app/faucet", json={"address": "0x1234"})
    assert bad.status_code == 422
