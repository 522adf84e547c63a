from unittest import mock


async def test_missing_item_is_404(client):
    with mock.patch("app.repositories.items.ItemRepository.get", return_value=None):
        response = await client.get("/items/1")
    assert response.status_code == 404
