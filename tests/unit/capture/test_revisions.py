"""Job type revisions: a stored hash of manifest, runtime and image decides the number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capture.jobtypes import load_job_type
from capture.revisions import RevisionStore, require_revision
from seedpipe.errors import InvalidInput
from seedpipe.settings import JobTypeSettings

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "watermark"


def job_type(tmp_path: Path, *, version: str = "0.1.0", **changes: Any) -> Any:
    raw = json.loads((EXAMPLE / "seed.manifest.json").read_text())
    raw["job"]["jobVersion"] = version
    manifest = tmp_path / f"manifest-{version}.json"
    manifest.write_text(json.dumps(raw))
    data: dict[str, Any] = {
        "name": "image-watermark",
        "manifest": str(manifest),
        "entrypoint": "python watermark.py",
        "output_workspace": "output",
    }
    data.update(changes)
    return load_job_type(JobTypeSettings.model_validate(data), EXAMPLE)


def test_the_same_job_type_keeps_its_revision_and_a_change_makes_the_next(
    tmp_path: Path,
) -> None:
    store = RevisionStore(tmp_path / "jobs.db")
    try:
        first = store.register(job_type(tmp_path))
        assert (first.revision, first.changed) == (1, ["created"])
        assert store.register(job_type(tmp_path)).revision == 1
        bumped = store.register(job_type(tmp_path, version="0.2.0"))
        assert (bumped.revision, bumped.job_version) == (2, "0.2.0")
        assert bumped.changed == ["manifest.job.jobVersion"]
        moved = store.register(job_type(tmp_path, version="0.2.0", max_attempts=9))
        assert moved.revision == 2  # scheduling settings are not part of a revision
        docker = store.register(
            job_type(tmp_path, version="0.2.0", runtime="docker", image="wm:2", entrypoint=None)
        )
        assert docker.revision == 3
        assert set(docker.changed) == {"entrypoint", "image", "runtime"}
        assert [r.revision for r in store.list("image-watermark")] == [1, 2, 3]
        # Going back to an earlier definition finds its revision again.
        assert store.register(job_type(tmp_path)).revision == 1
    finally:
        store.close()


def test_setting_values_are_neither_stored_nor_hashed(tmp_path: Path) -> None:
    raw = json.loads((EXAMPLE / "seed.manifest.json").read_text())
    raw["job"]["interface"]["settings"] = [{"name": "TOKEN", "secret": True}]
    (tmp_path / "m.json").write_text(json.dumps(raw))

    def with_token(value: str) -> Any:
        return load_job_type(
            JobTypeSettings.model_validate(
                {
                    "name": "image-watermark",
                    "manifest": str(tmp_path / "m.json"),
                    "entrypoint": "python watermark.py",
                    "output_workspace": "output",
                    "settings": {"TOKEN": value},
                }
            ),
            EXAMPLE,
        )

    store = RevisionStore(tmp_path / "jobs.db")
    try:
        assert store.register(with_token("s3cret-one")).revision == 1
        assert store.register(with_token("s3cret-two")).revision == 1
    finally:
        store.close()
    assert b"s3cret" not in (tmp_path / "jobs.db").read_bytes()


def test_an_unknown_or_old_revision_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = RevisionStore(path)
    store.register(job_type(tmp_path))
    store.register(job_type(tmp_path, version="0.2.0"))
    store.close()
    require_revision(path, "image-watermark", 2, 2, "revision")
    with pytest.raises(InvalidInput, match=r"^revision: .*no revision 7"):
        require_revision(path, "image-watermark", 7, 2, "revision")
    with pytest.raises(InvalidInput, match="revision 1 is no longer configured"):
        require_revision(path, "image-watermark", 1, 2, "revision")
