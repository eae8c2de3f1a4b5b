"""FileView: a read-only file record for pages that are only read (STAC, the CLI).

Decoding a stored record into a :class:`~seedpipe.records.FileRecord` costs pydantic's model
building, ~11-14 µs a record: more than the index spends finding, ordering and reading it. A
``FileView`` has the record's fields, names, types and JSON shape, but is a frozen msgspec
``Struct`` decoded from the stored JSON in C (~1.5 µs), and never tracked by the cyclic garbage
collector. Its place (``geometry``, ``center_point``) stays JSON text until read: the
coordinates were two thirds of the decoding, and a listing, a count or a re-encoding of the
page never reads them. Search pages that are shown rather than changed (``search_views``) are
made of views; :meth:`FileView.to_record` gives the pydantic record when one is needed.

A view checks the JSON's types (a wrong one falls back to pydantic, whose error names the
field), not the record's constraints (lengths, ``version`` >= 1): it reads what an index stored
after validating it as a record. The fields must stay the record's, in its order: a unit test
compares the two classes and decodes, re-encodes and converts a corpus of records both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import msgspec
from pydantic_core import PydanticSerializationError, to_json

from seedpipe.records import FileRecord, FileType

_NULL = msgspec.Raw(b"null")


def _builtin(value: Any) -> Any:
    if isinstance(value, msgspec.Raw):
        return _PLACE.decode(value)
    raise NotImplementedError(type(value).__name__)


class WorkspaceView(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    name: str
    id: int | str | None = None


class JobTypeView(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False
):
    name: str
    version: str
    revision: int | None = None  # left out of the JSON when None, as JobTypeRef does


class FileView(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """A file record as read from an index: the fields of ``FileRecord``, read-only.

    The defaults are the record's for the fields a stored document may leave out (those that
    are null); ``id``, ``created`` and ``last_modified`` are required here, since every stored
    record has them (the record makes them up when they are missing).
    """

    id: str
    file_name: str
    workspace: WorkspaceView
    file_path: str
    url: str | None = None
    media_type: str = "application/octet-stream"
    file_type: FileType = "SOURCE"
    file_size: int = 0
    checksum: str | None = None
    data_type_tags: list[str] = msgspec.field(default_factory=list)
    is_deleted: bool = False
    deleted: datetime | None = None
    created: datetime
    last_modified: datetime
    data_started: datetime | None = None
    data_ended: datetime | None = None
    source_started: datetime | None = None
    source_ended: datetime | None = None
    source_sensor_class: str | None = None
    source_sensor: str | None = None
    source_collection: str | None = None
    source_task: str | None = None
    # The place is kept as its JSON text, decoded when read (``geometry``, ``center_point``):
    # its coordinates are most of a document's values, and most pages are listed, counted or
    # written back out as JSON without them (``to_json`` copies the text as it is).
    geometry_json: msgspec.Raw = msgspec.field(default=_NULL, name="geometry")
    center_point_json: msgspec.Raw = msgspec.field(default=_NULL, name="center_point")
    countries: list[str] = msgspec.field(default_factory=list)
    job_type: JobTypeView | None = None
    job: str | None = None
    job_exe: str | None = None
    job_output: str | None = None
    recipe_type: str | None = None
    recipe: str | None = None
    recipe_node: str | None = None
    batch: str | None = None
    is_superseded: bool = False
    superseded: datetime | None = None
    ancestors: list[str] = msgspec.field(default_factory=list)
    meta_data: dict[str, Any] = msgspec.field(default_factory=dict)
    version: int = 1

    @property
    def geometry(self) -> dict[str, Any] | None:
        """The record's GeoJSON geometry (decoded on each read: keep it if read again)."""
        return self._place(self.geometry_json)

    @property
    def center_point(self) -> dict[str, Any] | None:
        """The record's GeoJSON center point (decoded on each read)."""
        return self._place(self.center_point_json)

    def _place(self, raw: msgspec.Raw) -> dict[str, Any] | None:
        try:
            value: dict[str, Any] | None = _PLACE.decode(raw)
        except msgspec.DecodeError:
            self.to_record()  # the text is not an object or null: pydantic's error names it
            raise
        return value

    @classmethod
    def from_record(cls, record: FileRecord) -> FileView:
        return decode_view(record.__pydantic_serializer__.to_json(record))

    def to_record(self) -> FileRecord:
        """The pydantic record (validated, as if read with ``search``)."""
        return FileRecord.model_validate_json(self.to_json())

    def to_json(self) -> bytes:
        """The record's JSON, as ``FileRecord.model_dump_json`` writes it."""
        return _ENCODER.encode(self)

    def to_scale(self) -> dict[str, Any]:
        """What ``FileRecord.to_scale`` gives: the record as Scale serialises a file in
        INPUT_METADATA (JSON-ready)."""
        try:
            data: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_builtin)
        except msgspec.DecodeError:
            self.to_record()  # a place that is not an object or null: the error names it
            raise
        return data


# What read-only code (STAC items, GeoJSON features, the CLI's table) accepts: either kind.
AnyRecord: TypeAlias = FileRecord | FileView

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(FileView)
_PLACE = msgspec.json.Decoder(dict[str, Any] | None)


def decode_view(doc: str | bytes) -> FileView:
    """A view of one record's JSON (as an index stores it, or ``model_dump_json`` writes it).

    JSON that is not such a record (an unknown field, a wrong type) gets the error pydantic
    gives for it, naming the field, rather than msgspec's.
    """
    try:
        return _DECODER.decode(doc)
    except msgspec.DecodeError:
        # FileRecord names the field (pydantic's ValidationError); a document it accepts, e.g.
        # without the id and times a record makes up, is a record: viewed through it.
        return _DECODER.decode(FileRecord.model_validate_json(doc).model_dump_json())


def view_of(data: dict[str, Any]) -> FileView:
    """A view of a record's JSON already parsed (a search engine's stored source)."""
    try:
        # through JSON (pydantic's writer, as the record's own to_json), since the place is
        # kept as text; still a C call each way
        return _DECODER.decode(to_json(data))
    except (msgspec.DecodeError, PydanticSerializationError):
        return FileView.from_record(FileRecord.model_validate(data))  # its error names the field


@dataclass(frozen=True, slots=True)
class ViewPage:
    """One page of views in query order, with the same tokens and total as a ``SearchPage``."""

    records: list[FileView]
    total: int
    next_token: str | None = None
    prev_token: str | None = None
