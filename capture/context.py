"""What every job run shares (its Context), the job events it publishes, and its file inputs
as the catalogue has them now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from capture.jobs import Job, JobStore
from capture.jobtypes import JobType
from seedpipe.events import FILES_TOPIC, CloudEvent
from seedpipe.records import FileRecord
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from seedpipe.bus.base import EventBus
    from seedpipe.catalogue import CatalogueReader
    from seedpipe.workspaces import Workspaces

SOURCE = "seedpipe/capture"


def job_event(event_type: str, job: Job) -> CloudEvent:
    return CloudEvent(type=event_type, source=SOURCE, subject=job.id, data=job.to_dict())


@dataclass
class Context:
    """What every job run shares."""

    settings: Settings
    bus: EventBus
    index: CatalogueReader | None
    store: JobStore
    workspaces: Workspaces
    job_types: dict[str, JobType]
    counters: dict[str, int] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)  # job type -> current revision

    @property
    def files_topic(self) -> str:
        return self.settings.topic(FILES_TOPIC)

    async def publish_job(self, event_type: str, job: Job) -> None:
        from seedpipe.events import JOBS_TOPIC

        await self.bus.publish(self.settings.topic(JOBS_TOPIC), job_event(event_type, job))


async def newest_record(ctx: Context, record: FileRecord) -> FileRecord:
    """The catalogue's record when it is at least as new as the event's (it carries updates)."""
    if ctx.index is None:
        return record
    indexed = await ctx.index.get(record.id)
    if indexed is not None and indexed.version >= record.version:
        return indexed
    return record


def job_files(job: Job) -> dict[str, list[FileRecord]]:
    """The job's file inputs: every input of a recipe node's job, else the trigger's one file."""
    if job.inputs is not None:
        files = job.inputs.get("files") or {}
        return {k: [FileRecord.model_validate(r) for r in v] for k, v in files.items()}
    return {job.input_name: [FileRecord.model_validate(job.record)]}
