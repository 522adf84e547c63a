"""Domain errors. Services raise these; app.main maps them to HTTP responses."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    status_code = 404

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")


class OutOfStockError(DomainError):
    status_code = 409

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"{sku}: {requested} requested, {available} in stock")
