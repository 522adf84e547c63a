from __future__ import annotations

from flask.testing import FlaskClient


def test_create_publish_and_list(client: FlaskClient) -> None:
    created = client.post("/posts/", json={"title": "Hello, World!", "body": "First post."})
    assert created.status_code == 201
    assert created.get_json()["slug"] == "hello-world"
    assert client.get("/posts/").get_json() == []  # drafts are not listed
    assert client.post("/posts/hello-world/publish").status_code == 200
    assert [p["slug"] for p in client.get("/posts/").get_json()] == ["hello-world"]


def test_duplicate_title_is_a_conflict(client: FlaskClient) -> None:
    client.post("/posts/", json={"title": "Same", "body": "a"})
    assert client.post("/posts/", json={"title": "Same", "body": "b"}).status_code == 409


def test_validation_and_missing_post(client: FlaskClient) -> None:
    assert client.post("/posts/", json={"title": ""}).status_code == 400
    assert client.get("/posts/nope").status_code == 404


def test_comments_only_on_published_posts(client: FlaskClient) -> None:
    client.post("/posts/", json={"title": "Draft", "body": "wip"})
    assert client.post("/posts/draft/comments/", json={"author": "Ann", "body": "Hi"}).status_code == 403
    client.post("/posts/draft/publish")
    added = client.post("/posts/draft/comments/", json={"author": "Ann", "body": "Hi"})
    assert added.status_code == 201
    assert client.get("/posts/draft/comments/").get_json() == [{"id": added.get_json()["id"], "author": "Ann", "body": "Hi"}]
