"""Helpers for the credit story: valid identifiers and request bodies."""

from __future__ import annotations

import random

import pytest

from credit.identifiers import make_resident_id, make_uscc


class Register:
    """Registers subjects and writes records through the API as a regulator."""

    def __init__(self, client, tokens):
        self.client = client
        self.tokens = tokens
        self.rng = random.Random(20240501)
        self.headers = tokens["regulator"]

    def uscc(self, region: str = "110105") -> str:
        return make_uscc(self.rng, region)

    def id_number(self, region: str = "110105") -> str:
        return make_resident_id(self.rng, region)

    def post(self, path: str, body: dict, expect: int | None = None, **kw):
        response = self.client.post(f"/api/v1{path}", json=body, headers=self.headers, **kw)
        if expect is not None:
            assert response.status_code == expect, response.get_json()
        return response

    def org(
        self, name: str = "北京建工一公司", kind: str = "bidder", region: str = "110105"
    ) -> dict:
        body = {"kind": kind, "name": name, "uscc": self.uscc(region), "region": region}
        return self.post("/subjects", body, 201).get_json()

    def person(self, name: str = "张三", region: str = "110105") -> dict:
        body = {"kind": "practitioner", "name": name, "id_number": self.id_number(region)}
        return self.post("/subjects", body, 201).get_json()

    def record(self, subject: dict, expect: int | None = 201, **fields) -> dict:
        body = negative(**fields)
        response = self.post(f"/subjects/{subject['id']}/records", body, expect)
        return response.get_json()

    def listing(self, subject: dict, expect: int | None = 201, **fields) -> dict:
        body = {"list": "blacklist", "basis": basis("2024-03-01"), "start": "2024-03-01"}
        body.update(fields)
        return self.post(f"/subjects/{subject['id']}/listings", body, expect).get_json()

    def eligibility(self, subject: dict, purpose: str, **query) -> dict:
        query = {"purpose": purpose, **query}
        response = self.client.get(
            f"/api/v1/subjects/{subject['id']}/eligibility",
            query_string=query,
            headers=self.tokens["centre"],
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def credit(self, subject: dict, as_of: str | None = None) -> dict:
        response = self.client.get(
            f"/api/v1/subjects/{subject['id']}/credit",
            query_string={"as_of": as_of} if as_of else {},
            headers=self.tokens["centre"],
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def basis(decided_on: str = "2024-03-01", document_no: str = "京建法罚〔2024〕15号") -> dict:
    return {
        "authority": "北京市住房和城乡建设委员会",
        "document_no": document_no,
        "decided_on": decided_on,
    }


def negative(**fields) -> dict:
    body = {
        "polarity": "negative",
        "category": "collusion",
        "severity": "serious",
        "description": "与其他投标人相互串通投标",
        "basis": basis(),
        "effective_from": "2024-03-01",
        "effective_to": "2026-03-01",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def reg(client, tokens) -> Register:
    return Register(client, tokens)
