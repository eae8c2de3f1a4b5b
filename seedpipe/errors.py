"""The one exception root of seedpipe and its families, one per concern."""

from __future__ import annotations

from typing import Any


class SeedpipeError(Exception):
    """Root of every error seedpipe raises on purpose."""


class ConfigError(SeedpipeError, ValueError):
    """Settings or a config file are wrong; the message names the setting."""


class InvalidInput(SeedpipeError, ValueError):
    """Something from outside (payload, sidecar, query parameter, file name) is invalid.

    ``field`` names the offending field or JSON path so the caller can point at it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class PathEscapeError(InvalidInput):
    """A path from outside would leave the root it must stay under."""


class MissingDependency(SeedpipeError, ImportError):
    """An optional heavy client is not installed; the message says what to install."""

    def __init__(self, module: str, hint: str) -> None:
        super().__init__(f"{module} is not installed: {hint}")


class UnknownBackend(ConfigError):
    """A URL names a scheme no backend serves."""


class BusError(SeedpipeError):
    """The event bus failed to publish, consume or commit."""


class EventTooLarge(BusError, ValueError):
    """An event is over ``bus.max_event_bytes``: refused when published, so no consumer has to
    send it to the DLQ. ``event`` is the refused CloudEvent, ``size`` its bytes."""

    def __init__(self, event: Any, size: int, limit: int) -> None:
        self.event, self.size, self.limit = event, size, limit
        super().__init__(
            f"event {event.type} of {event.subject or event.id} is {size} bytes, over the "
            f"{limit}-byte limit (bus.max_event_bytes); nothing of the batch was published"
        )


class WorkspaceError(SeedpipeError):
    """A workspace operation failed."""


class WorkspaceFileNotFound(WorkspaceError, FileNotFoundError):
    """The path does not exist in the workspace."""


class CatalogError(SeedpipeError):
    """The file index failed to write or search."""


class ManifestError(SeedpipeError, ValueError):
    """A Seed manifest is invalid; ``problems`` lists (json_path, message) pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class JobError(SeedpipeError):
    """A job could not be set up or run (not an algorithm failure, which is a result)."""


class IngestError(SeedpipeError):
    """A file could not be ingested."""
