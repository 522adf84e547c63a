"""API views. The function views query the ORM themselves; the viewsets
use DRF's generic machinery."""

from __future__ import annotations

from django.db.models import Count
from rest_framework import status, viewsets
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Author, Book
from catalog.serializers import AuthorSerializer, BookSerializer


class AuthorViewSet(viewsets.ModelViewSet):
    queryset = Author.objects.all()
    serializer_class = AuthorSerializer


class BookViewSet(viewsets.ModelViewSet):
    queryset = Book.objects.select_related("author")
    serializer_class = BookSerializer


@api_view(["GET"])
def author_stats(request: Request, pk: int) -> Response:
    author = Author.objects.filter(pk=pk).annotate(book_count=Count("books")).first()
    if author is None:
        raise NotFound("Author not found")
    in_print = Book.objects.filter(author=author, in_print=True).count()
    return Response({"id": author.pk, "name": author.name, "books": author.book_count, "in_print": in_print})


@api_view(["POST"])
def retire_book(request: Request, pk: int) -> Response:
    book = Book.objects.filter(pk=pk).first()
    if book is None:
        raise NotFound("Book not found")
    if not book.in_print:
        return Response({"detail": "Book is already out of print"}, status=status.HTTP_409_CONFLICT)
    book.in_print = False
    book.save(update_fields=["in_print"])
    return Response(BookSerializer(book).data)
