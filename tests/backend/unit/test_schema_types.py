"""The shared field types of `coopride.schemas.types` that bound ids and write amounts."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Path, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from coopride.schemas.types import (
    ChainRegionId,
    FareAmount,
    FareAmount96In,
    FareAmountIn,
    PositiveFareAmountIn,
    RowId,
    ShareAmount,
    ShareAmount96In,
    Uint256Text,
)


@pytest.mark.parametrize("value", [0, -1, 2**63, 2**64, 10**30])
def test_a_row_id_outside_a_signed_64_bit_integer_is_refused(value):
    with pytest.raises(ValidationError):
        TypeAdapter(RowId).validate_python(value)


def test_row_ids_and_region_ids_at_their_bounds():
    assert TypeAdapter(RowId).validate_python(2**63 - 1) == 2**63 - 1
    assert TypeAdapter(ChainRegionId).validate_python(2**32 - 1) == 2**32 - 1
    with pytest.raises(ValidationError):
        TypeAdapter(ChainRegionId).validate_python(2**32)


def test_a_row_id_in_a_path_or_a_query_is_a_422_beyond_64_bits():
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def read(thing_id: Annotated[RowId, Path(description="a thing")],
             other: Annotated[RowId | None, Query()] = None) -> dict:
        return {"thing_id": thing_id, "other": other}

    client = TestClient(app)
    assert client.get("/things/7?other=8").json() == {"thing_id": 7, "other": 8}
    for url in (f"/things/{2**64}", "/things/0", f"/things/1?other={2**63}"):
        assert client.get(url).status_code == 422
    parameter = client.get("/openapi.json").json()["paths"]["/things/{thing_id}"]["get"]["parameters"][0]
    assert parameter["schema"]["minimum"] == 1 and parameter["schema"]["exclusiveMaximum"] == 2**63


def test_a_uint256_in_decimal_digits():
    adapter = TypeAdapter(Uint256Text)
    assert adapter.validate_python(str(2**256 - 1)) == str(2**256 - 1)
    assert adapter.validate_python("007") == "7"
    for bad in (str(2**256), "9" * 78, "-1", "1e5", "", "1" * 79):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_an_answers_amount_is_an_int_inside_and_a_decimal_string_in_json():
    class Answer(BaseModel):
        amount: FareAmount
        shares: ShareAmount | None

    big = 2**200 + 1
    assert Answer(amount=big, shares=None).model_dump_json() == f'{{"amount":"{big}","shares":null}}'
    assert Answer(amount=5, shares="7").model_dump() == {"amount": 5, "shares": 7}  # a decimal string column
    schema = Answer.model_json_schema(mode="serialization")["properties"]
    assert schema["amount"]["type"] == "string" and schema["amount"]["pattern"] == "^[0-9]+$"
    assert "fare token" in schema["amount"]["description"]
    assert "share token" in schema["shares"]["anyOf"][0]["description"]
    for bad in (-1, "-1", True, 1.5):
        with pytest.raises(ValidationError):
            Answer(amount=bad, shares=None)


@pytest.mark.parametrize("bad, reason", [
    (5, "got a JSON number"), (5.0, "got a JSON number"), (True, "got bool"), (None, "got NoneType"),
    ("-1", "not digits only"), ("+5", "not digits only"), (" 5", "not digits only"), ("5 ", "not digits only"),
    ("", "not digits only"), ("1e3", "not digits only"), ("0x10", "not digits only"), ("5.0", "not digits only"),
    ("\u0663", "not digits only"), ("0", "at least 1"), (str(2**256), "below 2**256"), ("9" * 5000, "below 2**256"),
])
def test_a_requests_amount_is_a_decimal_string_in_range(bad, reason):
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(PositiveFareAmountIn).validate_python(bad)
    assert reason in str(refused.value) and "fare-token base units" in str(refused.value)


def test_request_amounts_at_their_bounds():
    assert TypeAdapter(PositiveFareAmountIn).validate_python(str(2**256 - 1)) == 2**256 - 1
    assert TypeAdapter(PositiveFareAmountIn).validate_python("007") == 7
    assert TypeAdapter(FareAmountIn).validate_python("0") == 0
    assert TypeAdapter(FareAmount96In).validate_python(str(2**96 - 1)) == 2**96 - 1
    for uint96 in (FareAmount96In, ShareAmount96In):
        with pytest.raises(ValidationError, match="below 2\\*\\*96"):
            TypeAdapter(uint96).validate_python(str(2**96))
    with pytest.raises(ValidationError, match="share-token"):
        TypeAdapter(ShareAmount96In).validate_python(10**18)


def test_an_amount_in_a_query_is_a_decimal_string_too():
    app = FastAPI()

    @app.get("/quote")
    def quote(amount: Annotated[PositiveFareAmountIn, Query()]) -> dict:
        return {"doubled": str(amount * 2)}

    client = TestClient(app)
    assert client.get("/quote", params={"amount": "21"}).json() == {"doubled": "42"}
    for bad in ("-1", "1e3", " 5", "", "+5", str(2**256), "0"):
        assert client.get("/quote", params={"amount": bad}).status_code == 422, bad
    parameter = client.get("/openapi.json").json()["paths"]["/quote"]["get"]["parameters"][0]
    assert parameter["schema"]["type"] == "string" and parameter["schema"]["pattern"] == "^[0-9]+$"
