from app.main import app


def test_notes_route():
    assert any(route.path == "/notes" for route in app.routes)
