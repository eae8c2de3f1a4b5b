"""Links an HTTP answer gives (next, previous, self): under the API's public root."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request


def public_root(request: Request, public_url: str | None) -> str:
    """The public root of the API: ``api.public_url`` behind a proxy, else what was asked."""
    return (public_url or str(request.base_url)).rstrip("/")


def page_link(request: Request, public_url: str | None, **params: str | int | None) -> str:
    """This request's URL under the public root with ``params`` replaced (for next/previous);
    a ``None`` value removes that parameter."""
    gone = [name for name, value in params.items() if value is None]
    url = request.url.remove_query_params(gone).include_query_params(
        **{name: value for name, value in params.items() if value is not None}
    )
    query = f"?{url.query}" if url.query else ""
    return f"{public_root(request, public_url)}{url.path}{query}"
