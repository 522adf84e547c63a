import bcrypt
from marshmallow import Schema, fields

from app import db
from app.models import User


class RegistrationSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True)


def register_user(payload: dict) -> User:
    data = RegistrationSchema().load(payload)
    password_hash = bcrypt.hashpw(data["password"].encode(), bcrypt.gensalt()).decode()
    user = User(email=data["email"], password_hash=password_hash)
    db.session.add(user)
    db.session.commit()
    return user
