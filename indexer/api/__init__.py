"""The indexer's HTTP routes (Scale-style ``/files``, a STAC API) and what they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from seedpipe.links import page_link, public_root

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.settings import Settings


def base_url(request: Request) -> str:
    """The public root of the API (``api.public_url`` behind a proxy, else what was asked)."""
    settings: Settings = request.app.state.settings
    return public_root(request, settings.api.public_url)


def link(request: Request, **params: str | int | None) -> str:
    """This request's URL under the public root, with ``params`` replaced (``None`` removes)."""
    settings: Settings = request.app.state.settings
    return page_link(request, settings.api.public_url, **params)


def get_index(request: Request) -> FileIndex:
    index: FileIndex = request.app.state.index
    return index
