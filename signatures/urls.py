"""Signature template pages (templates come with the signatures issue)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

url_prefix = "signatures/"  # where manager/urls.py mounts these pages
app_name = "signatures"


@login_required
def index(request):
    return render(request, "signatures/index.html", {})


urlpatterns = [path("", index, name="index")]
