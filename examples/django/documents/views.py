from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .forms import DocumentForm
from .models import Document


@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    """The document list and the upload form (CSRF-protected, multipart)."""
    if request.method == "POST":
        form = DocumentForm(request.POST, request.FILES)
        if form.is_valid():
            document = form.save()
            response = redirect("index")
            # Where the new file is served (by Apache, under MEDIA_URL).
            response["X-Document-Url"] = document.file.url
            return response
        status = 400
    else:
        form = DocumentForm()
        status = 200
    documents = Document.objects.all()[:50]
    return render(request, "documents/index.html", {"form": form, "documents": documents}, status=status)


@require_GET
def healthz(request):
    """The probes' path: answers without touching the database, so a pod
    is alive and ready as soon as Django is loaded (the Host is still checked)."""
    return HttpResponse("ok", content_type="text/plain")
