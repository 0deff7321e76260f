"""The shared field types of `coopride.schemas.types` that bound ids and write amounts."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Path, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from coopride.schemas.types import BaseUnits, ChainRegionId, RowId, Uint256Text


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


def test_base_units_are_written_as_decimal_strings():
    class Amount(BaseModel):
        amount: BaseUnits

    big = 2**200 + 1
    assert Amount(amount=big).model_dump_json() == f'{{"amount":"{big}"}}'
    assert Amount(amount=5).model_dump() == {"amount": 5}
    assert Amount.model_json_schema(mode="serialization")["properties"]["amount"]["type"] == "string"
    with pytest.raises(ValidationError):
        Amount(amount=-1)
