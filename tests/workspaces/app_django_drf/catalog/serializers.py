from __future__ import annotations

from rest_framework import serializers

from catalog.models import Author, Book


class AuthorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Author
        fields = ["id", "name", "email", "bio", "created_at"]
        read_only_fields = ["created_at"]


class BookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Book
        fields = ["id", "author", "title", "isbn", "published_on", "in_print"]
        # Hyphenated input is longer than the 13 digits stored.
        extra_kwargs = {"isbn": {"max_length": 17}}

    def validate_isbn(self, value: str) -> str:
        digits = value.replace("-", "")
        if not digits.isdigit() or len(digits) not in (10, 13):
            raise serializers.ValidationError("ISBN must have 10 or 13 digits")
        return digits
