"""Request bodies are bounded however they arrive: with a Content-Length or chunked.

A route declares its own limit once, with ``@body_limit(n)`` under its ``@route``; every
other route gets ``MAX_CONTENT_LENGTH``. ``LimitedRequest`` (the app's request class) reads
that limit before anything touches the body, so Flask-WTF's CSRF check, the form parser and
the view all see the same bound, and a body over it is a 413 from the one error handler.

Werkzeug refuses a Content-Length over the limit at once, but a chunked body (gunicorn sets
``wsgi.input_terminated``) is only cut: its ``readall`` stops at the limit and returns what
it read, so the form parsed the first megabyte and the request went ahead. ``_Bounded``
reads at most one byte past the limit, which is how it knows there was more, and refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TypeVar

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

#: Room for a form's other fields and the multipart framing around uploaded files.
FORM_ALLOWANCE = 64 * 1024

View = TypeVar("View", bound=Callable[..., object])


def body_limit(max_bytes: int) -> Callable[[View], View]:
    """This route accepts bodies of at most ``max_bytes`` instead of ``MAX_CONTENT_LENGTH``.
    Put it under ``@route`` so the function the route registers carries it."""

    def declare(view: View) -> View:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return declare


class _Bounded(LimitedStream):
    """A streamed body of unknown length: refused once it runs past ``max_bytes``."""

    def __init__(self, stream: IO[bytes], max_bytes: int) -> None:
        super().__init__(stream, max_bytes + 1, is_max=True)
        self.max_bytes = max_bytes

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self._pos > self.max_bytes:
            raise RequestEntityTooLarge()
        return size


class LimitedRequest(Request):
    """Flask's request, with the matched route's declared limit and a bounded chunked body."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        if current_app and self.url_rule is not None:
            view = current_app.view_functions.get(self.url_rule.endpoint)
            declared: int | None = getattr(view, "max_body_bytes", None)
            if declared is not None:
                return declared
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @cached_property
    def stream(self) -> IO[bytes]:
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True', reading from the "
                               "input stream is disabled.")
        limit = self.max_content_length
        if (limit is not None and self.content_length is None
                and "wsgi.input_terminated" in self.environ):
            return _Bounded(self.environ["wsgi.input"], limit)
        return get_input_stream(self.environ, max_content_length=limit)
