"""Models mirrored by the Rust side (tables blog_author and blog_post)."""
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)  # max_length 254, NOT NULL, may be ""


class Post(models.Model):
    # Column author_id.
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="posts")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField()
    published = models.BooleanField(default=False)
    created = models.DateTimeField()
    rating = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    views = models.IntegerField(default=0)
