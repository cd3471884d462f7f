"""Request body parsers of the API (its own module: DRF imports it while loading its views)."""
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """JSON bodies, always an object (every resource's body has named fields, and views can
    read them without checking the type first); nesting deeper than Python's parser can
    follow is bad input. Both are 400 `parse_error`."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deeply.") from None
        if not isinstance(data, dict):
            raise exceptions.ParseError("The body must be a JSON object.")
        return data
