"""Attachments made when a message is sent, by a renderer another app registers.

A PDF does not belong in the outbox row: it is large, and it can be made again from what it is
about. An app registers a renderer in its `AppConfig.ready()` and queues a `RenderedAttachment`
naming it and the object; the worker calls the renderer as it sends:

    register_attachment_renderer("aftercare-handout-pdf", handout_pdf_for)   # (object_id) -> bytes

An unknown renderer or one that raises makes the attempt fail like a provider error: recorded,
retried with back-off, and on the failed-deliveries worklist in the end — never sent without it.
"""

from __future__ import annotations

from collections.abc import Callable

Renderer = Callable[[str], bytes]

_renderers: dict[str, Renderer] = {}


class UnknownRenderer(LookupError):
    pass


def register_attachment_renderer(name: str, renderer: Renderer) -> None:
    _renderers[name] = renderer


def render_attachment(name: str, object_id: str) -> bytes:
    try:
        renderer = _renderers[name]
    except KeyError:
        raise UnknownRenderer(f"no attachment renderer called {name!r} is registered") from None
    return renderer(object_id)
