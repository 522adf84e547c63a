from __future__ import annotations

from fastapi.testclient import TestClient

from app.services import books as book_service


def make_user(client: TestClient) -> int:
    response = client.post("/users/", json={"email": "reader@example.com", "full_name": "Reader"})
    assert response.status_code == 201
    return response.json()["id"]


def test_add_list_and_read_books(client: TestClient) -> None:
    user_id = make_user(client)
    created = client.post(f"/users/{user_id}/books/", json={"title": "  Dune ", "pages": 412})
    assert created.status_code == 201, created.text
    book = created.json()
    assert book["title"] == "Dune" and book["owner_id"] == user_id and book["summary"] is None
    assert [b["title"] for b in client.get(f"/users/{user_id}/books/").json()] == ["Dune"]
    assert client.get(f"/users/{user_id}/books/{book['id']}").json()["pages"] == 412


def test_book_of_another_user_is_404(client: TestClient) -> None:
    user_id = make_user(client)
    book = client.post(f"/users/{user_id}/books/", json={"title": "Emma"}).json()
    other = client.post("/users/", json={"email": "other@example.com", "full_name": "Other"}).json()["id"]
    response = client.get(f"/users/{other}/books/{book['id']}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Book not found"}


def test_adding_to_unknown_user_is_404(client: TestClient) -> None:
    response = client.post("/users/42/books/", json={"title": "Nobody's"})
    assert response.status_code == 404


def test_book_limit_is_a_conflict(client: TestClient, monkeypatch) -> None:
    monkeypatch.setattr(book_service, "MAX_BOOKS_PER_USER", 1)
    user_id = make_user(client)
    assert client.post(f"/users/{user_id}/books/", json={"title": "One"}).status_code == 201
    response = client.post(f"/users/{user_id}/books/", json={"title": "Two"})
    assert response.status_code == 409
    assert "already lists 1 books" in response.json()["detail"]
