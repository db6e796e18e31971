"""Ids of other tenants' objects named in a request body are answered exactly as ids
that do not exist: the answer never tells a prober which ids are real."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import CompanyAddress
from tests.factories import make_product
from tests.trade.conftest import Market, order_body

REQUEST_SPECIFIC = ("request_id", "instance")


def comparable(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = {key: value for key, value in response.json().items() if key not in REQUEST_SPECIFIC}
    return response.status_code, body


async def test_another_companys_address_in_an_order_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    foreign = CompanyAddress(
        id=uuid.uuid4(),
        company_id=market.supplier.id,
        label="Works",
        line1="Werkstrasse 1",
        city="Berlin",
        postal_code="10115",
        country="DE",
    )
    db_session.add(foreign)
    await db_session.flush()
    answers = []
    for address_id in (foreign.id, uuid.uuid4()):
        body = order_body((market.washers, 1))
        del body["shipping_address"]
        body["shipping_address_id"] = str(address_id)
        answers.append(
            await client.post("/api/v1/orders", json=body, headers=market.headers["owner"])
        )
    foreign_answer, unknown_answer = (comparable(answer) for answer in answers)
    assert foreign_answer[0] == 404, answers[0].text  # the address book is looked up
    assert foreign_answer == unknown_answer


async def test_another_suppliers_product_as_a_parent_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    foreign = await make_product(db_session, supplier=market.other_supplier, sku="FOREIGN-HEAD")
    foreign_draft = await make_product(
        db_session, supplier=market.other_supplier, sku="FOREIGN-DRAFT", status="draft"
    )
    answers = [
        await client.patch(
            f"/api/v1/products/{market.bolts.id}",
            json={"parent_id": str(parent_id)},
            headers=market.headers["supplier"],
        )
        for parent_id in (foreign.id, foreign_draft.id, uuid.uuid4())
    ]
    compared = [comparable(answer) for answer in answers]
    assert compared[0][0] == 422, answers[0].text  # a body's reference: a field problem
    assert compared[0] == compared[1] == compared[2]
