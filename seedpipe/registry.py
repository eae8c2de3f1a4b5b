"""Lazy registries that choose a backend by URL scheme (or by name) and import it on first use."""

from __future__ import annotations

import difflib
import importlib
from typing import Any
from urllib.parse import urlsplit

from seedpipe.errors import MissingDependency, UnknownBackend

_OWN_PACKAGES = ("seedpipe", "ingest", "capture", "indexer", "composition")


class BackendRegistry:
    """Maps URL schemes (or names) to ``"module:Class"`` strings; imports only the one asked for."""

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
        """The backend class for ``url``'s scheme."""
        scheme = self.scheme_of(url)
        return self._load(scheme, f"no {self.kind} backend for scheme {scheme!r} in {url!r}")

    def by_name(self, name: str) -> Any:
        """The backend class registered as ``name`` (a runtime, say)."""
        return self._load(name, f"unknown {self.kind} {name!r}")

    def _load(self, key: str, unknown: str) -> Any:
        target = self.backends.get(key)
        if target is None:
            close = difflib.get_close_matches(key, self.backends, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownBackend(f"{unknown} (known: {', '.join(sorted(self.backends))}){hint}")
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name or module_name
            if missing.split(".")[0] in _OWN_PACKAGES:
                raise
            raise MissingDependency(
                missing, self.hints.get(key, "pip install seedpipe with its dependencies")
            ) from exc
        return getattr(module, attr)
