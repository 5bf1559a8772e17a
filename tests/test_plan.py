"""Choosing steps and resolving parameters before anything runs."""

from __future__ import annotations

import pytest

from conftest import SEEDS
from opsdoc.errors import OpsdocError
from opsdoc.execute.plan import (
    alternatives,
    parse_param_args,
    required_params,
    resolve_params,
    select_steps,
)
from opsdoc.read import read_runbook


@pytest.fixture(scope="module")
def shopify():
    section = read_runbook(SEEDS / "004_95e26377be71e20e.txt").find("2-shopify-sync-queue-stuck")
    assert section is not None
    return section


def numbers(planned) -> list[int]:
    return [p.number for p in planned]


def test_filters_compose(shopify) -> None:
    assert numbers(select_steps(shopify)) == [1, 2, 3, 4, 5]
    assert numbers(select_steps(shopify, only="verify")) == [5]
    assert numbers(select_steps(shopify, start=4)) == [4, 5]
    assert numbers(select_steps(shopify, numbers=[1, 5])) == [1, 5]
    assert numbers(select_steps(shopify, options=["C"])) == [1, 4, 5]
    assert alternatives(select_steps(shopify)) == ["A", "B", "C"]


def test_bad_selections_say_what_exists(shopify) -> None:
    with pytest.raises(OpsdocError, match="no step 9"):
        select_steps(shopify, numbers=[9])
    with pytest.raises(OpsdocError, match="options here: A, B, C"):
        select_steps(shopify, options=["Z"])
    with pytest.raises(OpsdocError, match="--only takes"):
        select_steps(shopify, only="fix")


def test_params_resolve_in_order_and_all_missing_are_named() -> None:
    section = read_runbook(SEEDS / "000_5f92c922ed36c991.txt").find("quick-health-check-script")
    params = required_params(select_steps(section))
    assert [p.name for p in params] == ["PROD_API_BASE", "SERVICE_TOKEN_PROD", "DATABASE_URL_PROD"]
    values = resolve_params(
        params,
        given={"PROD_API_BASE": "http://given"},
        config={"SERVICE_TOKEN_PROD": "from-config"},
        environ={"DATABASE_URL_PROD": "postgresql://env", "PROD_API_BASE": "x"},
    )
    assert values == {
        "PROD_API_BASE": "http://given",
        "SERVICE_TOKEN_PROD": "from-config",
        "DATABASE_URL_PROD": "postgresql://env",
    }
    with pytest.raises(OpsdocError) as caught:
        resolve_params(params, given={}, config={}, environ={})
    assert "PROD_API_BASE, SERVICE_TOKEN_PROD (secret), DATABASE_URL_PROD (secret)" in str(
        caught.value
    )


def test_placeholder_values_from_the_environment() -> None:
    section = read_runbook(SEEDS / "004_95e26377be71e20e.txt").find("3-batch-processing-failures")
    params = required_params(select_steps(section, options=["A"]))
    assert resolve_params(params, given={}, config={}, environ={"OPSDOC_PARAM_LOT_ID": "42"}) == {
        "lot-id": "42"
    }
    assert parse_param_args(["<lot-id>=7", "X=a=b"]) == {"lot-id": "7", "X": "a=b"}
    with pytest.raises(OpsdocError, match="NAME=VALUE"):
        parse_param_args(["novalue"])
