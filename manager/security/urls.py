from django.urls import path

from . import views

url_prefix = "security/"
app_name = "security"

urlpatterns = [
    path("organisations/<int:pk>/", views.SecurityView.as_view(), name="organisation"),
]
