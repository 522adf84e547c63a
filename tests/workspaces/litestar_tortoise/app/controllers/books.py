from litestar import Controller, get

from app.models.books import Book


class BookController(Controller):
    path = "/books"

    @get("/{book_id:int}")
    async def get_book(self, book_id: int) -> dict[str, object]:
        book = await Book.get(id=book_id)
        return {"id": book.id, "title": book.title}
