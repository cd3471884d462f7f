from django.http import HttpResponse
from django.urls import path

url_prefix = "gadgets/"
app_name = "plugin_app"
urlpatterns = [path("", lambda request: HttpResponse("gadgets page"), name="index")]
