"""Address pages."""
urlpatterns = []
