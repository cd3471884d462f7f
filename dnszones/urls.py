"""Domains & DNS pages (zones and records come with the DNS issue)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

url_prefix = "dns/"  # where manager/urls.py mounts these pages
app_name = "dnszones"


@login_required
def index(request):
    return render(request, "dnszones/index.html", {})


urlpatterns = [path("", index, name="index")]
