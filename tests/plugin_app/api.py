"""A read-only API resource of the test app."""
from rest_framework import viewsets
from rest_framework.response import Response


class GadgetViewSet(viewsets.ViewSet):
    def list(self, request):
        return Response({"gadgets": []})


def register(router):
    router.register("gadgets", GadgetViewSet, basename="gadget")
