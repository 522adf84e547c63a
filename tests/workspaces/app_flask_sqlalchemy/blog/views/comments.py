"""Comments on a post."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from blog.extensions import db
from blog.models import Comment, Post

bp = Blueprint("comments", __name__, url_prefix="/posts/<slug>/comments")


@bp.get("/")
def list_comments(slug: str) -> ResponseReturnValue:
    post = db.first_or_404(db.select(Post).where(Post.slug == slug))
    comments = db.session.scalars(db.select(Comment).where(Comment.post_id == post.id).order_by(Comment.id).limit(100))
    return jsonify([{"id": c.id, "author": c.author, "body": c.body} for c in comments])


@bp.post("/")
def add_comment(slug: str) -> ResponseReturnValue:
    post = db.first_or_404(db.select(Post).where(Post.slug == slug))
    if not post.published:
        abort(403, description="Comments are closed on drafts")
    payload = request.get_json(silent=True) or {}
    author, body = str(payload.get("author", "")).strip(), str(payload.get("body", "")).strip()
    if not author or not body:
        abort(400, description="author and body are required")
    comment = Comment(post_id=post.id, author=author[:80], body=body)
    db.session.add(comment)
    db.session.commit()
    return jsonify({"id": comment.id, "author": comment.author, "body": comment.body}), 201
