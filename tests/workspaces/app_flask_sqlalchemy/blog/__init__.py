"""Application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from blog.extensions import db


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///blog.db")
    app.config.update(overrides or {})
    db.init_app(app)

    from blog.views.comments import bp as comments_bp
    from blog.views.posts import bp as posts_bp

    app.register_blueprint(posts_bp, url_prefix="/posts")
    app.register_blueprint(comments_bp)

    with app.app_context():
        db.create_all()
    return app
