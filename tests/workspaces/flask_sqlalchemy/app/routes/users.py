from flask import Blueprint, request

from app.services.users import register_user

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.post("/")
def register():
    user = register_user(request.get_json())
    return {"id": user.id}, 201
