from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalog import views

router = DefaultRouter()
router.register("authors", views.AuthorViewSet)
router.register("books", views.BookViewSet)

urlpatterns = [
    path("", include(router.urls)),
    path("authors/<int:pk>/stats/", views.author_stats, name="author-stats"),
    path("books/<int:pk>/retire/", views.retire_book, name="book-retire"),
]
