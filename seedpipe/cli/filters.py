"""Search filter options shared by ``seedpipe search`` and ``seedpipe subscriptions add``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedpipe.errors import InvalidInput

if TYPE_CHECKING:
    from seedpipe.query.model import Query

# option dest -> Query field, for the options that map one to one.
_LISTS = {
    "data_type": "data_types_any",
    "data_type_all": "data_types_all",
    "data_type_none": "data_types_none",
    "media_type": "media_types",
    "file_type": "file_types",
    "workspace": "workspaces",
    "job_type": "job_types",
    "job_output": "job_outputs",
    "job": "jobs",
    "recipe": "recipes",
    "batch": "batches",
    "derived_from": "derived_from",
    "country": "countries",
    "id": "ids",
}


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("filters (all must hold)")
    g.add_argument(
        "--bbox",
        metavar="MINX,MINY,MAXX,MAXY",
        help="degrees, minx,miny,maxx,maxy (e.g. --bbox -10,40,10,60); minx > maxx wraps",
    )
    g.add_argument("--intersects", metavar="FILE|JSON", help="a GeoJSON geometry, inline or file")
    g.add_argument("--datetime", metavar="A/B", help="RFC 3339 instant or interval, '..' open")
    g.add_argument(
        "--time-field",
        choices=["data", "source", "created", "last_modified"],
        help="which time --datetime applies to (default data)",
    )
    g.add_argument(
        "--relation",
        choices=["intersects", "within", "contains"],
        help="how the record's interval relates to --datetime (default intersects)",
    )
    g.add_argument("--data-type", nargs="+", action="extend", metavar="T", help="any of these")
    g.add_argument("--data-type-all", nargs="+", action="extend", metavar="T", help="all of these")
    g.add_argument(
        "--data-type-none", nargs="+", action="extend", metavar="T", help="none of these"
    )
    g.add_argument("--media-type", nargs="+", action="extend", metavar="M")
    g.add_argument("--file-type", nargs="+", action="extend", choices=["SOURCE", "PRODUCT"])
    g.add_argument("--workspace", nargs="+", action="extend", metavar="W")
    g.add_argument("--job-type", nargs="+", action="extend", metavar="NAME")
    g.add_argument("--job-output", nargs="+", action="extend", metavar="NAME")
    g.add_argument("--job", nargs="+", action="extend", metavar="ID", help="made by these jobs")
    g.add_argument("--recipe", nargs="+", action="extend", metavar="ID")
    g.add_argument("--batch", nargs="+", action="extend", metavar="ID")
    g.add_argument(
        "--derived-from",
        nargs="+",
        action="extend",
        metavar="FILE_ID",
        help="products with any of these files among their ancestors",
    )
    g.add_argument("--country", nargs="+", action="extend", metavar="ISO3")
    g.add_argument("--id", nargs="+", action="extend", metavar="ID")
    g.add_argument("--file-name", metavar="TEXT", help="file name contains (case-insensitive)")
    g.add_argument(
        "--meta",
        action="append",
        metavar="JSON",
        help='meta_data comparison, e.g. \'{"property": "cloud", "op": "<", "value": 20}\'',
    )


def _geometry(text: str) -> Any:
    from seedpipe.query.params import parse_json

    stripped = text.strip()
    if not stripped.startswith("{"):
        path = Path(stripped)
        try:
            stripped = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}", field="intersects") from exc
    value = parse_json(stripped, "intersects")
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    return value


def filter_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The options given, as ``Query`` fields."""
    from seedpipe.query.params import parse_meta

    fields: dict[str, Any] = {}
    for dest, target in _LISTS.items():
        values = getattr(args, dest, None)
        if values:
            fields[target] = values
    if "countries" in fields:
        fields["countries"] = [c.upper() for c in fields["countries"]]
    if args.bbox:
        fields["bbox"] = args.bbox
    if args.intersects:
        fields["intersects"] = _geometry(args.intersects)
    if args.datetime:
        fields["datetime"] = args.datetime
    if args.time_field:
        fields["time_field"] = args.time_field
    if args.relation:
        fields["time_relation"] = args.relation
    if args.file_name:
        fields["file_name_contains"] = args.file_name
    if args.meta:
        fields["meta"] = parse_meta(args.meta)
    return fields


def query_from_args(args: argparse.Namespace, **extra: Any) -> Query:
    """A validated Query; InvalidInput names the option at fault."""
    from seedpipe.query.params import build

    names = {v: "--" + k.replace("_", "-") for k, v in _LISTS.items()}
    names.update(time_relation="--relation", file_name_contains="--file-name", limit="--limit")
    names.update(bbox="--bbox", intersects="--intersects", datetime="--datetime", sort="--sort")
    names.update(time_field="--time-field", meta="--meta")
    names.update({k: f"--{k}" for k in ("token",)})  # page tokens are not secrets
    try:
        fields = filter_fields(args)
    except InvalidInput as exc:
        field = exc.field or ""
        message = str(exc).removeprefix(f"{field}: ")
        raise InvalidInput(message, field=names.get(field, field)) from exc
    return build({**fields, **extra}, names)
