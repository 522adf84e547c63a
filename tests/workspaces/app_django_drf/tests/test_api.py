from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def make_author(api: APIClient, email: str = "ursula@example.com") -> dict:
    response = api.post("/api/authors/", {"name": "Ursula K. Le Guin", "email": email}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_author_and_book(api: APIClient) -> None:
    author = make_author(api)
    response = api.post(
        "/api/books/", {"author": author["id"], "title": "The Dispossessed", "isbn": "978-0-06-051275-3"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["isbn"] == "9780060512753"
    assert response.json()["in_print"] is True
    listed = api.get("/api/books/").json()
    assert listed["count"] == 1 and listed["results"][0]["title"] == "The Dispossessed"


def test_invalid_isbn_is_rejected(api: APIClient) -> None:
    author = make_author(api)
    response = api.post("/api/books/", {"author": author["id"], "title": "X", "isbn": "12"}, format="json")
    assert response.status_code == 400
    assert "isbn" in response.json()


def test_stats_and_retire(api: APIClient) -> None:
    author = make_author(api)
    book = api.post("/api/books/", {"author": author["id"], "title": "Lathe", "isbn": "0684125307"}, format="json").json()
    api.post("/api/books/", {"author": author["id"], "title": "Earthsea", "isbn": "0553383043"}, format="json")
    assert api.post(f"/api/books/{book['id']}/retire/").json()["in_print"] is False
    assert api.post(f"/api/books/{book['id']}/retire/").status_code == 409
    stats = api.get(f"/api/authors/{author['id']}/stats/").json()
    assert stats == {"id": author["id"], "name": "Ursula K. Le Guin", "books": 2, "in_print": 1}
    assert api.get("/api/authors/999/stats/").status_code == 404
    assert api.post("/api/books/999/retire/").status_code == 404


def test_author_emails_are_unique(api: APIClient) -> None:
    make_author(api)
    response = api.post("/api/authors/", {"name": "Other", "email": "ursula@example.com"}, format="json")
    assert response.status_code == 400
