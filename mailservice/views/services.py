"""Mail service pages: list, create, detail, plan change, delete."""
urlpatterns = []
