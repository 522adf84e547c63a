from app.main import create_app


async def test_unknown_route_is_404(aiohttp_client):
    client = await aiohttp_client(create_app())
    response = await client.get("/nope")
    assert response.status == 404
