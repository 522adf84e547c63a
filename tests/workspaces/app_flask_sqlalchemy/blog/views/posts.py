"""Posts blueprint: the handlers query and commit through db.session."""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from blog.extensions import db
from blog.models import Post

bp = Blueprint("posts", __name__)

_SLUG = re.compile(r"[^a-z0-9]+")


def _as_json(post: Post) -> dict[str, object]:
    return {"id": post.id, "slug": post.slug, "title": post.title, "body": post.body, "published": post.published}


@bp.get("/")
def list_posts() -> ResponseReturnValue:
    limit = min(request.args.get("limit", 20, type=int), 100)
    posts = db.session.scalars(
        db.select(Post).where(Post.published.is_(True)).order_by(Post.created_at.desc()).limit(limit)
    ).all()
    return jsonify([_as_json(p) for p in posts])


@bp.get("/<slug>")
def get_post(slug: str) -> ResponseReturnValue:
    post = db.session.scalar(db.select(Post).where(Post.slug == slug))
    if post is None:
        abort(404, description="Post not found")
    return jsonify(_as_json(post))


@bp.post("/")
def create_post() -> ResponseReturnValue:
    payload = request.get_json(silent=True) or {}
    title = str(payload.get("title", "")).strip()
    body = str(payload.get("body", "")).strip()
    if not title or not body:
        abort(400, description="title and body are required")
    slug = _SLUG.sub("-", title.lower()).strip("-")
    if db.session.scalar(db.select(Post.id).where(Post.slug == slug)) is not None:
        abort(409, description="A post with this title exists")
    post = Post(slug=slug, title=title, body=body, published=bool(payload.get("published", False)))
    db.session.add(post)
    db.session.commit()
    return jsonify(_as_json(post)), 201


@bp.post("/<slug>/publish")
def publish_post(slug: str) -> ResponseReturnValue:
    post = db.first_or_404(db.select(Post).where(Post.slug == slug))
    post.published = True
    db.session.commit()
    return jsonify(_as_json(post))
