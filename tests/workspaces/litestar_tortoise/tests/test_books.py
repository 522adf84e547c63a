from app.main import app


def test_routes_registered():
    assert "/books/{book_id:int}" in {route.path for route in app.routes}
