from __future__ import annotations

from fastapi.testclient import TestClient


def create(client: TestClient, email: str = "ada@example.com", name: str = "Ada Lovelace") -> dict:
    response = client.post("/users/", json={"email": email, "full_name": name})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_and_read_user(client: TestClient) -> None:
    user = create(client, email="Ada@Example.com")
    assert user["email"] == "ada@example.com"
    assert user["is_active"] is True
    response = client.get(f"/users/{user['id']}")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Ada Lovelace"


def test_duplicate_email_is_a_conflict(client: TestClient) -> None:
    create(client)
    response = client.post("/users/", json={"email": "ada@example.com", "full_name": "Someone Else"})
    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}


def test_unknown_user_is_404(client: TestClient) -> None:
    response = client.get("/users/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


def test_list_skips_deactivated_users_and_paginates(client: TestClient) -> None:
    first = create(client, "a@example.com", "A")
    create(client, "b@example.com", "B")
    create(client, "c@example.com", "C")
    assert client.delete(f"/users/{first['id']}").status_code == 204
    listed = client.get("/users/", params={"limit": 1, "offset": 1}).json()
    assert [u["email"] for u in listed] == ["c@example.com"]
    assert client.delete("/users/999").status_code == 404
