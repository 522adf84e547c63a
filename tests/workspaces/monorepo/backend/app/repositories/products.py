from sqlalchemy import text
from sqlalchemy.orm import Session


class ProductRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def names(self) -> list[str]:
        return list(self.session.scalars(text("SELECT name FROM products ORDER BY name LIMIT 100")))
