"""Turn database errors caused by the client's input into a 400 instead of a 500.

Example: a URL id larger than a 64-bit integer reaches PostgreSQL and fails with DataError.
Such input is the client's mistake; it is answered with a clear message, and the transaction
it was in has already been rolled back by Django's atomic handling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError
from django.http import HttpRequest, HttpResponse

from .views import bad_request

log = logging.getLogger(__name__)


class ClientErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError | OverflowError):
            log.info("client input rejected by the database on %s", request.path)
            return bad_request(request, exception)
        return None
