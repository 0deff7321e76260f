"""Region figures, health, the default deployment's proposal threshold, and the OpenAPI document."""

from __future__ import annotations

import pytest
from api_helpers import VILLEURBANNE_FROM, VILLEURBANNE_TO, trace


def test_regions_show_phase_and_members_against_critical_mass(client, operating_region, bootstrap_region, chain_client):
    regions = {r["region_id"]: r for r in client.get("/regions").json()}
    assert set(regions) == {operating_region, bootstrap_region}
    operating, bootstrap = regions[operating_region], regions[bootstrap_region]
    assert operating["phase"] == "operating" and bootstrap["phase"] == "bootstrap"
    assert operating["members"] >= operating["critical_mass"] == chain_client.region(operating_region).critical_mass
    assert bootstrap["members"] == chain_client.region(bootstrap_region).members
    assert bootstrap["name"] == "Villeurbanne"
    assert bootstrap["fare_per_km"] == str(chain_client.region(bootstrap_region).fare_per_km)
    assert operating["treasury_balance"] == str(chain_client.treasury_balance())


def test_region_figures_count_logged_kilometres(member, bootstrap_region):
    driver = member(bootstrap_region)
    before = driver.get(f"/regions/{bootstrap_region}").json()
    assert before["members"] >= 1
    trip = driver.post("/trips", json={"fixes": trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)}).json()
    after = driver.get(f"/regions/{bootstrap_region}").json()
    assert after["trips_logged"] == before["trips_logged"] + 1
    assert after["metres_verified"] == before["metres_verified"] + trip["distance_metres"]
    assert after["metres_settled"] == before["metres_settled"]


def test_an_unknown_region_is_not_found(client):
    response = client.get("/regions/999")
    assert response.status_code == 404 and response.json()["detail"] == "unknown region 999"
    assert client.get("/regions/zero").status_code == 422


def test_health_reports_database_and_chain(client, chain_client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] and body["chain"] and body["block_number"] >= 1


def test_health_is_unavailable_when_the_chain_is_unreachable(settings, manifest, deployment):
    from fastapi.testclient import TestClient

    from coopride.api.main import create_app
    from coopride.chain.client import ChainClient

    unreachable = ChainClient("http://127.0.0.1:9", manifest, deployment.settler_key, request_timeout=1)
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/health")
        assert response.status_code == 503 and response.json()["chain"] is False
        assert client.get("/regions").status_code == 503


def test_the_openapi_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    broken = {**document, "paths": {"/health": {"get": {"responses": {"200": {"content": {}}}}}}}  # no description
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_route_is_documented_with_a_tag_and_a_summary(client):
    schema = client.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 25
    assert all(op.get("tags") and op.get("summary") for op in operations)


# ------------------------------------------------------------------------------------------------ boundaries
def test_a_regions_boundary_is_a_geojson_feature_in_lon_lat_order(client):
    from coopride.domain.regions import DEFAULT_REGION_MAP

    response = client.get("/regions/1/boundary")
    assert response.status_code == 200, response.text
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == 1
    assert feature["properties"] == {"id": 1, "name": "Lyon 3e arrondissement", "center": [4.8422, 45.7597],
                                     "radius_m": 2500.0}
    geometry = feature["geometry"]
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 1
    [[ring]] = geometry["coordinates"]  # one polygon without holes: Lyon is the smaller disc, cut by the bisector
    assert ring[0] == ring[-1] and len(ring) >= 4
    assert all(4.7 < lon < 4.9 and 45.7 < lat < 45.8 for lon, lat in ring)  # [lon, lat], not [lat, lon]
    [[expected]] = DEFAULT_REGION_MAP.boundary(1)
    assert [[round(p.lon, 7), round(p.lat, 7)] for p in expected] == ring


def test_every_boundary_comes_as_one_feature_collection(client):
    response = client.get("/regions/boundaries")
    assert response.status_code == 200, response.text
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert [(f["id"], f["properties"]["name"]) for f in collection["features"]] == [
        (1, "Lyon 3e arrondissement"), (2, "Villeurbanne")]
    assert collection["features"][1] == client.get("/regions/2/boundary").json()


def test_the_boundary_of_an_unknown_region_is_not_found(client):
    response = client.get("/regions/999/boundary")
    assert response.status_code == 404 and response.json() == {"detail": "unknown region 999", "code": "not_found"}


def test_boundary_responses_are_documented_as_geojson(client):
    schema = client.get("/openapi.json").json()
    one = schema["paths"]["/regions/{region_id}/boundary"]["get"]["responses"]
    every = schema["paths"]["/regions/boundaries"]["get"]["responses"]
    assert one["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/BoundaryFeature")
    assert every["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/BoundaryCollection")
    assert "404" in one
    geometry = schema["components"]["schemas"]["BoundaryGeometry"]
    assert "longitude, latitude" in geometry["properties"]["coordinates"]["description"]


# --------------------------------------------------------------------------------------------- id ranges
def test_region_ids_beyond_the_chains_width_are_a_validation_error(client):
    for path in ("/regions/{}", "/regions/{}/boundary"):
        for bad in (0, -1, 2**32, 2**64, 10**30):
            response = client.get(path.format(bad))
            assert response.status_code == 422, (path, bad, response.text)
            assert response.json()["code"] == "invalid_request"


# ------------------------------------------------------------------------------------------------ units
def test_the_chain_route_gives_the_tokens_symbols_and_decimals(client, chain_client, manifest):
    response = client.get("/chain")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["chain_id"] == chain_client.chain_id and body["block_number"] >= 1
    fare, share = body["fare_token"], body["share_token"]
    assert fare == {"address": chain_client.fare_token.address,
                    "symbol": chain_client.fare_token.functions.symbol().call(), "decimals": 6}
    assert share == {"address": chain_client.share.address, "symbol": chain_client.share.functions.symbol().call(),
                     "decimals": 18}
    assert body["contracts"]["RideLedger"] == chain_client.ledger.address
    assert set(body["contracts"]) == set(manifest.contracts)


def test_the_chain_route_is_unavailable_when_the_chain_is_unreachable(settings, manifest, deployment):
    from fastapi.testclient import TestClient

    from coopride.api.main import create_app
    from coopride.chain.client import ChainClient

    unreachable = ChainClient("http://127.0.0.1:9", manifest, deployment.settler_key, request_timeout=1)
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/chain")
        assert response.status_code == 503 and response.json()["code"] == "chain_unavailable"


UNITLESS_OK = {"type", "id", "name", "symbol", "state", "proposer", "requested_by", "kind", "parameters", "tx_hash",
               "access_token", "token_type", "address", "nonce", "message", "signature", "typed_data", "targets",
               "calldatas", "description", "phase", "region_id", "features", "geometry", "properties", "database",
               "chain", "contracts", "change", "to", "support", "fare_token", "share_token", "detail", "code",
               "chain_error"}
UNIT_WORDS = ("unit", "metre", "second", "seconds", "unix", "decimal", "basis points", "votes", "degree", "count",
              "number", "trips", "members", "drivers", "date-time", "block", "chain id", "power of ten", "uint")


def test_every_number_in_the_auth_governance_region_and_health_shapes_states_its_unit(client):
    """Each numeric field of these shapes names its unit (base units, metres, seconds, votes, ...) in its
    description; text and identifiers are exempt."""
    from coopride.schemas import auth, governance, health, regions

    missing = []
    for module in (auth, governance, health, regions):
        for shape in vars(module).values():
            if not (isinstance(shape, type) and hasattr(shape, "model_fields") and shape.__module__ == module.__name__):
                continue
            for name, field in shape.model_fields.items():
                if name in UNITLESS_OK:
                    continue
                described = (field.description or "").lower()
                if not any(word in described for word in UNIT_WORDS):
                    missing.append(f"{shape.__name__}.{name}")
    assert missing == []


from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

path_segments = st.one_of(
    st.integers(-(2**70), 2**300).map(str),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), min_size=1, max_size=90),
    st.sampled_from(["NaN", "Infinity", "1e309", "0x10", "1.5", "-0", " 1", "%00", "\x00"]),
)


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=path_segments, support=path_segments)
def test_any_id_in_the_region_and_proposal_paths_is_answered_without_a_5xx(client, segment, support):
    from urllib.parse import quote

    segment = quote(segment, safe="")
    for path in (f"/regions/{segment}", f"/regions/{segment}/boundary", f"/governance/proposals/{segment}",
                 f"/governance/proposals/{segment}/ballot?support={quote(support, safe='')}"):
        response = client.get(path)
        assert response.status_code < 500, (path, response.text)
