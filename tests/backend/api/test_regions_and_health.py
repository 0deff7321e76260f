"""Region figures, health, the default deployment's proposal threshold, and the OpenAPI document."""

from __future__ import annotations

from api_helpers import VILLEURBANNE_FROM, VILLEURBANNE_TO, trace


def test_regions_show_phase_and_members_against_critical_mass(client, operating_region, bootstrap_region, chain_client):
    regions = {r["region_id"]: r for r in client.get("/regions").json()}
    assert set(regions) == {operating_region, bootstrap_region}
    operating, bootstrap = regions[operating_region], regions[bootstrap_region]
    assert operating["phase"] == "operating" and bootstrap["phase"] == "bootstrap"
    assert operating["members"] >= operating["critical_mass"] == chain_client.region(operating_region).critical_mass
    assert bootstrap["members"] == chain_client.region(bootstrap_region).members
    assert bootstrap["name"] == "Villeurbanne" and bootstrap["fare_per_km"] == chain_client.region(bootstrap_region).fare_per_km
    assert operating["treasury_balance"] == chain_client.treasury_balance()


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


def test_every_route_is_documented_with_a_tag_and_a_summary(client):
    schema = client.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 25
    assert all(op.get("tags") and op.get("summary") for op in operations)
