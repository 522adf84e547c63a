from __future__ import annotations

from fastapi.testclient import TestClient


def test_create_read_update_delete(client: TestClient) -> None:
    team = client.post("/teams/", json={"name": "Preventers", "headquarters": "Sharp Tower"}).json()
    created = client.post("/heroes/", json={"name": "Deadpond", "secret_name": "Dive Wilson", "team_id": team["id"]})
    assert created.status_code == 201, created.text
    hero = created.json()
    assert hero["age"] is None and hero["team_id"] == team["id"]
    updated = client.patch(f"/heroes/{hero['id']}", json={"age": 31})
    assert updated.json()["age"] == 31 and updated.json()["name"] == "Deadpond"
    assert client.delete(f"/heroes/{hero['id']}").json() == {"ok": True}
    assert client.get(f"/heroes/{hero['id']}").status_code == 404


def test_unknown_team_is_rejected(client: TestClient) -> None:
    response = client.post("/heroes/", json={"name": "Lonely", "secret_name": "L", "team_id": 99})
    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown team"}


def test_list_is_paginated(client: TestClient) -> None:
    for index in range(3):
        client.post("/heroes/", json={"name": f"Hero {index}", "secret_name": f"S{index}"})
    page = client.get("/heroes/", params={"offset": 1, "limit": 1}).json()
    assert [h["name"] for h in page] == ["Hero 1"]
    assert client.get("/heroes/", params={"limit": 1000}).status_code == 422


def test_team_names_are_unique(client: TestClient) -> None:
    assert client.post("/teams/", json={"name": "Z-Force", "headquarters": "Sister Margaret's Bar"}).status_code == 201
    assert client.post("/teams/", json={"name": "Z-Force", "headquarters": "Elsewhere"}).status_code == 409
    assert client.get("/teams/404").status_code == 404
