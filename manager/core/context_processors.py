"""Template context every page gets from the core app."""


def csp_nonce(request):
    """The nonce the Content-Security-Policy of this response allows (its <script>/<style>
    tags carry it: nonce="{{ csp_nonce }}")."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
