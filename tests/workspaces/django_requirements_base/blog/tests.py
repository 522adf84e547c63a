from django.test import TestCase

from blog.models import Post


class PostTests(TestCase):
    def test_str(self):
        post = Post.objects.create(title="Hello", body="World")
        self.assertEqual(post.title, "Hello")
