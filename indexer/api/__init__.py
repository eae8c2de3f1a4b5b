"""The indexer's HTTP routes (Scale-style ``/files``, a STAC API) and what they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.settings import Settings


def base_url(request: Request) -> str:
    """The public root of the API (``api.public_url`` behind a proxy, else what was asked)."""
    settings: Settings = request.app.state.settings
    return (settings.api.public_url or str(request.base_url)).rstrip("/")


def link(request: Request, **params: str | int | None) -> str:
    """This request's URL under the public root, with ``params`` replaced (for next/previous);
    a ``None`` value removes that parameter."""
    gone = [name for name, value in params.items() if value is None]
    url = request.url.remove_query_params(gone).include_query_params(
        **{name: value for name, value in params.items() if value is not None}
    )
    return f"{base_url(request)}{url.path}?{url.query}"


def get_index(request: Request) -> FileIndex:
    index: FileIndex = request.app.state.index
    return index
