"""Bad input of any kind is a 4xx with a reason and changes nothing; describing it never fails (issue 12)."""

from __future__ import annotations

import pytest

OFFER = (
    '{{"origin": {{"lat": {lat}, "lon": 4.8357}}, "destination": {{"lat": 45.7485, "lon": 4.8467}},'
    ' "depart_earliest": 1795000000, "depart_latest": 1795000900, "seats": 3, "max_detour_m": 1500}}'
)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"])
def test_a_non_finite_coordinate_is_refused_with_a_readable_422(member, bootstrap_region, number):
    driver = member(bootstrap_region)
    headers = {**driver.headers, "Content-Type": "application/json"}
    response = driver.client.post("/offers", content=OFFER.format(lat=number), headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert problem["loc"][:2] == ["body", "origin"] and "lat must be finite" in problem["msg"]
    assert driver.get("/offers").status_code == 200  # the service goes on answering


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"', '"\\ud83d"'])
def test_a_lone_surrogate_in_any_text_field_is_refused(wallet, text):
    caller = wallet()
    body = '{"address": ' + text + "}"
    response = caller.client.post("/auth/nonce", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "lone surrogate" in response.json()["detail"]


def test_a_surrogate_pair_is_ordinary_text(wallet):
    caller = wallet()
    body = '{"address": "\\ud83d\\ude97"}'
    response = caller.client.post("/auth/nonce", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422  # not an address, but readable text
    assert "not an Ethereum address" in response.text


def test_a_validation_error_over_undecodable_input_is_still_json(wallet):
    caller = wallet()
    response = caller.client.post(
        "/auth/nonce", content=b'{"address": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"]


def test_every_route_documents_its_refusals_with_one_problem_shape(client):
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code in ("401", "403", "404", "409", "422"):
                answer = operation["responses"].get(code)
                assert answer, f"{method.upper()} {path} does not document {code}"
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, code, schema)


def test_a_refusal_names_its_kind(wallet):
    response = wallet().get("/rides/requests/4242")
    assert response.status_code == 404
    assert response.json() == {"detail": "no ride request 4242", "code": "not_found"}


def test_a_nul_character_in_any_text_field_is_refused(wallet):
    caller = wallet()
    body = '{"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8\\u0000"}'
    response = caller.client.post("/auth/nonce", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a": ' * 50_000 + '"\\ud800"' + "}" * 50_000])
def test_a_deeply_nested_body_is_refused_not_crashed(wallet, body):
    caller = wallet()
    response = caller.client.post("/auth/nonce", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
