"""Job type revisions: a new revision whenever a job type's manifest, runtime or image change.

A revision is decided by a SHA-256 over the canonical JSON of what defines how a job runs: the
Seed manifest as written, the runtime, entrypoint, image, mounts, sandbox and the *names* of
the settings given (values are secrets; they are neither stored nor hashed). Revisions live
beside the jobs, in ``jobs.db`` (table ``job_type_revisions``), numbered from 1 per job type.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedpipe.errors import ConfigError, InvalidInput
from seedpipe.sqlite import LockedStore

if TYPE_CHECKING:
    from collections.abc import Mapping

    from capture.jobs import JobStore
    from capture.jobtypes import JobType
    from capture.recipes.types import RecipeType

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_type_revisions (
    job_type TEXT NOT NULL,
    revision INTEGER NOT NULL,
    hash TEXT NOT NULL,
    job_version TEXT NOT NULL,
    created REAL NOT NULL,
    definition TEXT NOT NULL,
    changed TEXT NOT NULL,
    PRIMARY KEY (job_type, revision),
    UNIQUE (job_type, hash)
);
"""


@dataclass(frozen=True)
class Revision:
    job_type: str
    revision: int
    hash: str
    job_version: str
    created: float
    changed: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_type": self.job_type,
            "revision": self.revision,
            "hash": self.hash,
            "job_version": self.job_version,
            "created": self.created,
            "changed": self.changed,
        }


def definition_of(jt: JobType) -> dict[str, Any]:
    """What a revision covers (no secret values)."""
    s = jt.settings
    return {
        "manifest": jt.raw,
        "runtime": s.runtime,
        "entrypoint": s.entrypoint,
        "image": s.image,
        "mounts": dict(sorted(s.mounts.items())),
        "sandbox": s.sandbox,
        "settings": sorted(s.settings),
    }


def digest(definition: Mapping[str, Any]) -> str:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What differs, as dotted names: manifest members one level into ``job``, settings whole."""
    if old is None:
        return ["created"]
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key == "manifest":
            a, b = old.get(key) or {}, new.get(key) or {}
            ja, jb = a.get("job") or {}, b.get("job") or {}
            out += [
                f"manifest.job.{k}" for k in sorted(set(ja) | set(jb)) if ja.get(k) != jb.get(k)
            ]
            out += [
                f"manifest.{k}"
                for k in sorted(set(a) | set(b))
                if k != "job" and a.get(k) != b.get(k)
            ]
        elif old.get(key) != new.get(key):
            out.append(key)
    return out


class RevisionStore(LockedStore):
    """The revisions table of ``jobs.db``; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def register(self, jt: JobType) -> Revision:
        """The revision ``jt`` is now: the stored one with its hash, else a new one."""
        definition = definition_of(jt)
        h = digest(definition)
        with self._lock:
            row = self._db.execute(
                "SELECT revision FROM job_type_revisions WHERE job_type = ? AND hash = ?",
                (jt.name, h),
            ).fetchone()
            if row is None:
                last = self._db.execute(
                    "SELECT revision, definition FROM job_type_revisions WHERE job_type = ? "
                    "ORDER BY revision DESC LIMIT 1",
                    (jt.name,),
                ).fetchone()
                number = (last[0] if last else 0) + 1
                what = changes(json.loads(last[1]) if last else None, definition)
                # INSERT OR IGNORE: two copies starting together settle on one row.
                self._db.execute(
                    "INSERT OR IGNORE INTO job_type_revisions "
                    "(job_type, revision, hash, job_version, created, definition, changed) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        jt.name,
                        number,
                        h,
                        jt.version,
                        time.time(),
                        json.dumps(definition),
                        json.dumps(what),
                    ),
                )
        found = self.find(jt.name, hash_=h)
        if found is None:  # lost a race on the revision number: register again
            return self.register(jt)
        return found

    def find(
        self, job_type: str, *, hash_: str | None = None, revision: int | None = None
    ) -> Revision | None:
        where, arg = ("hash = ?", hash_) if hash_ is not None else ("revision = ?", revision)
        with self._lock:
            row = self._db.execute(
                "SELECT job_type, revision, hash, job_version, created, changed "  # noqa: S608
                f"FROM job_type_revisions WHERE job_type = ? AND {where}",
                (job_type, arg),
            ).fetchone()
        return _revision(row) if row else None

    def list(self, job_type: str) -> list[Revision]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job_type, revision, hash, job_version, created, changed "
                "FROM job_type_revisions WHERE job_type = ? ORDER BY revision",
                (job_type,),
            ).fetchall()
        return [_revision(r) for r in rows]


def _revision(row: Any) -> Revision:
    return Revision(row[0], int(row[1]), row[2], row[3], float(row[4]), json.loads(row[5]))


def register_all(path: Path, job_types: Mapping[str, JobType]) -> dict[str, int]:
    """The current revision number of every job type, registering new ones."""
    store = RevisionStore(path)
    try:
        return {name: store.register(jt).revision for name, jt in job_types.items()}
    finally:
        store.close()


def current_revision(jobs: JobStore, jt: JobType) -> int:
    store = RevisionStore(jobs.path)
    try:
        return store.register(jt).revision
    finally:
        store.close()


def require_revision(path: Path, job_type: str, revision: int, current: int, field: str) -> None:
    """InvalidInput naming ``field`` unless ``revision`` is the job type's current one: a
    configured job type runs as it is configured now, so only that revision can run."""
    if revision == current:
        return
    store = RevisionStore(path)
    try:
        known = store.find(job_type, revision=revision)
    finally:
        store.close()
    if known is None:
        raise InvalidInput(
            f"job type {job_type!r} has no revision {revision} (current: {current})", field=field
        )
    raise InvalidInput(
        f"job type {job_type!r} revision {revision} is no longer configured; only the "
        f"current revision {current} can run",
        field=field,
    )


def check_recipe_revisions(
    path: Path, recipe_types: Mapping[str, RecipeType], current: Mapping[str, int]
) -> None:
    """A recipe node naming a ``job_type_revision`` must name the current one (start-up)."""
    from capture.recipes.definition import JobNodeType

    problems: list[str] = []
    for rt in recipe_types.values():
        for node_name, node in rt.definition.nodes.items():
            nt = node.node_type
            if not isinstance(nt, JobNodeType) or nt.job_type_revision is None:
                continue
            where = (
                f"recipe_types[{rt.name}].definition: "
                f"$.nodes.{node_name}.node_type.job_type_revision"
            )
            try:
                current_revision_ = current.get(nt.job_type_name, 0)
                require_revision(
                    path, nt.job_type_name, nt.job_type_revision, current_revision_, where
                )
            except InvalidInput as exc:
                problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
