from django.db import models


class Document(models.Model):
    """An uploaded file with a title. The file lands in MEDIA_ROOT (a writable
    directory) and Apache serves it under MEDIA_URL."""

    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="documents/%Y/%m/")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return self.title
