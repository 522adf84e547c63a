from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import User


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.commit()
        return user

    def find_by_email(self, email: str) -> User | None:
        row = self.session.execute(text(f"SELECT id FROM users WHERE email = '{email}'")).first()
        return self.session.get(User, row.id) if row else None

    def order_totals(self) -> dict[str, int]:
        users = self.session.scalars(select(User)).all()
        return {user.email: sum(order.total for order in user.orders) for user in users}
