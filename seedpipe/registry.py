"""Lazy registries that choose a backend class by URL scheme and import it on first use."""

from __future__ import annotations

import difflib
import importlib
from typing import Any
from urllib.parse import urlsplit

from seedpipe.errors import MissingDependency, UnknownBackend


class BackendRegistry:
    """Maps URL schemes to ``"module:Class"`` strings; imports only the backend asked for."""

    def __init__(self, kind: str, backends: dict[str, str], hints: dict[str, str] | None = None):
        self.kind = kind
        self.backends = dict(backends)
        self.hints = hints or {}

    def scheme_of(self, url: str) -> str:
        scheme = urlsplit(url).scheme.lower()
        if not scheme:
            raise UnknownBackend(
                f"{self.kind} URL {url!r} has no scheme; use one of {sorted(self.backends)}"
            )
        return scheme

    def resolve(self, url: str) -> Any:
        scheme = self.scheme_of(url)
        target = self.backends.get(scheme)
        if target is None:
            close = difflib.get_close_matches(scheme, self.backends, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownBackend(
                f"no {self.kind} backend for scheme {scheme!r} in {url!r}"
                f" (known: {', '.join(sorted(self.backends))}){hint}"
            )
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name or module_name
            if missing.split(".")[0] in ("seedpipe", "ingest", "capture", "indexer", "composition"):
                raise
            raise MissingDependency(
                missing, self.hints.get(scheme, "pip install seedpipe with its dependencies")
            ) from exc
        return getattr(module, attr)
