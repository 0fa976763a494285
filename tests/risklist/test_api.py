"""The risk-list API on both databases: add (201, masked), duplicates (409 naming the
field), bad values (422 naming the field, nothing stored), read, list with filters and
cursor pages, remove, permissions, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.risklist.models import RiskListEntry
from tests.risklist.conftest import Borrower

URL = "/v1/risk-list"
CLEAR = ("110105199003071239", "13800000009", "6222020200012345670")


def entry(kind: str, value: str, reason: str = "confirmed fraud ring", **extra: Any) -> dict:
    return {"kind": kind, "value": value, "reason": reason, **extra}


def test_add_answers_masked_and_stores_no_clear_value(
    api: TestClient, staff: dict[str, dict[str, str]], engine: Engine
) -> None:
    analyst = staff["risk_analyst"]
    person = api.post(
        URL, json=entry("resident_id", "110105 19900307 1239", source="court_list"), headers=analyst
    )
    assert person.status_code == 201, person.text
    body = person.json()
    assert body["kind"] == "resident_id"
    assert body["value_masked"] == "110105********1239"
    assert body["source"] == "court_list"
    assert body["active"] is True
    assert body["removed_at"] is None
    phone = api.post(URL, json=entry("phone", "+86 138-0000-0009"), headers=analyst)
    assert phone.status_code == 201, phone.text
    assert phone.json()["value_masked"] == "138****0009"
    assert phone.json()["source"] == "manual"
    card = api.post(URL, json=entry("bank_card", "6222 0202 0001 2345 670"), headers=analyst)
    assert card.status_code == 201, card.text
    assert card.json()["value_masked"] == "622202*********5670"
    for response in (person, phone, card):
        assert not any(value in response.text for value in CLEAR)
        assert "value_index" not in response.json()
    with Session(engine) as session:
        rows = list(session.scalars(select(RiskListEntry)))
        records = list(
            session.scalars(select(AuditRecord).where(AuditRecord.action == "risk_list.add"))
        )
    assert len(rows) == 3
    for row in rows:
        assert len(row.value_index) == 64
        assert not any(value in str(vars(row)) for value in CLEAR)
    assert sorted(r.after["value"] for r in records) == sorted(
        ["110105********1239", "138****0009", "622202*********5670"]
    )


def test_the_same_active_value_twice_is_a_conflict_naming_the_field(
    api: TestClient, staff: dict[str, dict[str, str]]
) -> None:
    analyst = staff["risk_analyst"]
    first = api.post(URL, json=entry("phone", "13800000009"), headers=analyst)
    assert first.status_code == 201
    again = api.post(URL, json=entry("phone", "+8613800000009", "again"), headers=analyst)
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["code"] == "risk_list.already_listed"
    assert problem["errors"][0]["field"] == "value"
    assert first.json()["id"] in problem["errors"][0]["message"]
    # Once removed, the value can be listed again (a new entry).
    removed = api.post(
        f"{URL}/{first.json()['id']}/remove", json={"reason": "listed by mistake"}, headers=analyst
    )
    assert removed.status_code == 200, removed.text
    relisted = api.post(URL, json=entry("phone", "13800000009", "back on"), headers=analyst)
    assert relisted.status_code == 201, relisted.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (entry("resident_id", "110105199003071238"), "value"),  # check digit
        (entry("resident_id", "11010519900307123"), "value"),  # 17 characters
        (entry("phone", "12800000009"), "value"),  # not a mobile prefix
        (entry("phone", "+1 415 555 0100"), "value"),
        (entry("bank_card", "6222020200012345671"), "value"),  # Luhn
        (entry("bank_card", "62220202abc"), "value"),
        (entry("passport", "E12345678"), "kind"),
        (entry("phone", "13800000009", reason="   "), "reason"),
        (entry("phone", "13800000009", reason=""), "reason"),
        (entry("phone", "13800000009", source="rumour"), "source"),
        ({"kind": "phone", "value": "13800000009"}, "reason"),
        ({**entry("phone", "13800000009"), "note": "x"}, "note"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    api: TestClient, staff: dict[str, dict[str, str]], engine: Engine, body: dict, field: str
) -> None:
    response = api.post(URL, json=body, headers=staff["risk_analyst"])
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].endswith(field)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(RiskListEntry)) == 0


def test_read_list_filter_and_pages(api: TestClient, staff: dict[str, dict[str, str]]) -> None:
    analyst, officer = staff["risk_analyst"], staff["loan_officer"]
    phones = [f"1380000001{n}" for n in range(5)]
    ids = []
    for phone in phones:
        added = api.post(URL, json=entry("phone", phone), headers=analyst)
        assert added.status_code == 201, added.text
        ids.append(added.json()["id"])
    card = api.post(URL, json=entry("bank_card", "6217000200023456783"), headers=analyst)
    assert card.status_code == 201
    removed = api.post(f"{URL}/{ids[0]}/remove", json={"reason": "paid off"}, headers=analyst)
    assert removed.json()["active"] is False
    assert removed.json()["removal_reason"] == "paid off"

    shown = api.get(f"{URL}/{ids[1]}", headers=officer)
    assert shown.status_code == 200
    assert shown.json()["value_masked"] == "138****0011"

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"kind": "phone", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get(URL, params=params, headers=officer)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    active = api.get(URL, params={"active": "true"}, headers=officer).json()["items"]
    assert {item["id"] for item in active} == {*ids[1:], card.json()["id"]}
    gone = api.get(URL, params={"active": "false"}, headers=officer).json()["items"]
    assert [item["id"] for item in gone] == [ids[0]]
    bad = api.get(URL, params={"cursor": "not-a-cursor"}, headers=officer)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


def test_remove_twice_unknown_and_bad_reason(
    api: TestClient, staff: dict[str, dict[str, str]], engine: Engine
) -> None:
    analyst = staff["risk_analyst"]
    added = api.post(URL, json=entry("phone", "13800000009"), headers=analyst).json()
    blank = api.post(f"{URL}/{added['id']}/remove", json={"reason": " "}, headers=analyst)
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "reason"
    assert api.get(f"{URL}/{added['id']}", headers=analyst).json()["active"] is True
    done = api.post(f"{URL}/{added['id']}/remove", json={"reason": "cleared"}, headers=analyst)
    assert done.status_code == 200
    twice = api.post(f"{URL}/{added['id']}/remove", json={"reason": "again"}, headers=analyst)
    assert twice.status_code == 409
    assert twice.json()["code"] == "risk_list.already_removed"
    unknown = "0193f0a2-0000-7000-8000-000000000000"
    assert api.get(f"{URL}/{unknown}", headers=analyst).status_code == 404
    missing = api.post(f"{URL}/{unknown}/remove", json={"reason": "x"}, headers=analyst)
    assert missing.status_code == 404
    with Session(engine) as session:
        removals = list(
            session.scalars(select(AuditRecord).where(AuditRecord.action == "risk_list.remove"))
        )
    assert [r.after["reason"] for r in removals] == ["cleared"]


def test_permissions(
    api: TestClient, staff: dict[str, dict[str, str]], borrower: Callable[..., Borrower]
) -> None:
    me = borrower("13911112222")
    body = entry("phone", "13800000009")
    assert api.post(URL, json=body, headers=me.headers).status_code == 403
    assert api.get(URL, headers=me.headers).status_code == 403
    assert api.post(URL, json=body).status_code == 401
    officer = staff["loan_officer"]
    assert api.post(URL, json=body, headers=officer).status_code == 403  # reads only
    added = api.post(URL, json=body, headers=staff["risk_analyst"]).json()
    assert api.get(f"{URL}/{added['id']}", headers=me.headers).status_code == 403
    refused = api.post(f"{URL}/{added['id']}/remove", json={"reason": "x"}, headers=officer)
    assert refused.status_code == 403
