"""Job errors: exit codes mapped through the manifest's ``errors``, plus the runner's own."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from capture.seed.models import SeedManifest

Category = Literal["data", "job", "system"]


class JobErrorInfo(BaseModel):
    """``{code, name, title, description, category}``; ``system`` errors may be retried."""

    model_config = ConfigDict(frozen=True)

    code: int | None
    name: str
    title: str | None = None
    description: str | None = None
    category: Category = "job"

    @property
    def retryable(self) -> bool:
        """Only system errors are worth retrying; data errors never are."""
        return self.category == "system"


def from_exit_code(manifest: SeedManifest, code: int) -> JobErrorInfo:
    """The manifest's error for ``code``, or a generic algorithm error when it has none."""
    for err in manifest.job.errors:
        if err.code == code:
            return JobErrorInfo(
                code=code,
                name=err.name,
                title=err.title,
                description=err.description,
                category=err.category,
            )
    return JobErrorInfo(
        code=code,
        name="algorithm-unknown",
        title="Algorithm Unknown",
        description=f"The algorithm exited with code {code}, which its manifest does not map.",
        category="job",
    )


def timeout(seconds: float) -> JobErrorInfo:
    # Scale counts a timeout as a system error: the same job may well finish on a retry.
    return JobErrorInfo(
        code=None,
        name="timeout",
        title="Timeout",
        description=f"The job ran past its {seconds:g} s timeout; its process group was killed.",
        category="system",
    )


def failure(name: str, title: str, description: str, category: Category = "system") -> JobErrorInfo:
    """An error of seedpipe's own (no exit code): ``system`` ones are retried."""
    return JobErrorInfo(
        code=None, name=name, title=title, description=description, category=category
    )


def system(name: str, title: str, description: str) -> JobErrorInfo:
    """A runner or infrastructure failure (could not launch, docker unavailable, ...)."""
    return failure(name, title, description, "system")


def capture(name: str, title: str, description: str) -> JobErrorInfo:
    """The job ran but what it left breaks the contract (missing output, bad sidecar, ...)."""
    return failure(name, title, description, "job")
