from rest_framework import viewsets

from blog.models import Post
from blog.serializers import PostSerializer


class PostViewSet(viewsets.ModelViewSet):
    queryset = Post.objects.order_by("-published_at")
    serializer_class = PostSerializer
