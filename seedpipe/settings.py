"""The one settings object: a TOML file plus SEEDPIPE_* env vars, URLs resolved once."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from seedpipe.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSettings(_Section):
    """A named place files live: ``file:///root`` or ``s3://bucket/prefix``."""

    url: str
    base_url: str | None = Field(default=None, description="public URL prefix for records' url")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO)")
    region: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    presign_expiry_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    multipart_threshold_mib: int = Field(default=64, ge=5)


class KafkaSettings(_Section):
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    enable_idempotence: bool = Field(
        default=False, description="off by default: some Kafka-protocol brokers refuse it"
    )
    linger_ms: int = Field(default=5, ge=0)
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    client_id: str = "seedpipe"
    session_timeout_ms: int = Field(
        default=10000, ge=1000, description="a silent member leaves; tansu delays joins by half"
    )
    heartbeat_interval_ms: int = Field(default=3000, ge=100)
    fetch_max_wait_ms: int = Field(
        default=50, ge=1, description="bounds idle latency on brokers that hold fetches (tansu)"
    )
    max_poll_interval_ms: int = Field(
        default=300000,
        ge=1000,
        description="a member handling one event longer leaves the group; with capture.commit "
        "finished it must exceed the longest job timeout x max_attempts",
    )


class SqliteBusSettings(_Section):
    partitions: int = Field(default=4, ge=1, le=256, description="for topics created from now on")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL", description="FULL fsyncs each commit: survives power loss, not just kill -9"
    )
    poll_interval_s: float = Field(default=0.05, gt=0, description="cross-process wake-up")
    session_timeout_s: float = Field(default=10.0, gt=0, description="then a share moves")
    retention_hours: float | None = Field(
        default=None,
        gt=0,
        description="delete events older than this (checked as events are published); none "
        "keeps the whole log, which `seedpipe reindex` replays",
    )


class BusSettings(_Section):
    url: str = "sqlite:///events.db"
    topic_prefix: str = "seedpipe"
    max_attempts: int = Field(default=5, ge=1, description="handler tries before the DLQ")
    backoff_initial_s: float = Field(default=0.2, ge=0)
    backoff_max_s: float = Field(default=10.0, ge=0)
    max_event_bytes: int = Field(default=1024 * 1024, ge=1024)
    batch_size: int = Field(default=500, ge=1)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    sqlite: SqliteBusSettings = Field(default_factory=SqliteBusSettings)


class ElasticsearchSettings(_Section):
    index_prefix: str = "seedpipe"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout_s: float = 30.0
    refresh: Literal["false", "wait_for", "true"] = Field(
        default="false",
        description="when writes become searchable: false (the refresh interval), wait_for "
        "(each write waits for it), true (at once, costly: tests)",
    )


class IndexSettings(_Section):
    url: str = "sqlite:///index.db"
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    opensearch: ElasticsearchSettings = Field(
        default_factory=ElasticsearchSettings, description="the same keys, for opensearch://"
    )


class IngestRule(_Section):
    filename_regex: str
    data_types: list[str] = Field(default_factory=list)
    new_workspace: str | None = None
    new_file_path: str | None = Field(
        default=None,
        description="template: {yyyy} {mm} {dd} {date} {file_name} {stem} {ext} and named groups",
    )


class StrikeSettings(_Section):
    """One drop location watched for new files (Scale's Strike)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    drop: str = Field(description="file:///dir or s3://bucket/prefix")
    workspace: str = Field(description="workspace the files are ingested into")
    rules: list[IngestRule] = Field(default_factory=list)
    transfer_suffixes: list[str] = Field(default_factory=lambda: ["_tmp", ".part"])
    settle_s: float = Field(default=1.0, ge=0)
    polling: bool = Field(default=False, description="poll instead of inotify (NFS/SMB mounts)")
    poll_interval_s: float = Field(default=1.0, gt=0)
    duplicates: Literal["skip", "replace", "version", "error"] = "skip"
    sqs_queue_url: str | None = None
    list_interval_s: float | None = Field(default=None, gt=0)
    endpoint_url: str | None = None
    region: str | None = None


class JobTypeSettings(_Section):
    """A Seed manifest plus how to run it."""

    name: str
    manifest: str = Field(description="path to seed.manifest.json (relative to the config file)")
    runtime: Literal["process", "docker"] = "process"
    entrypoint: str | None = None
    image: str | None = None
    output_workspace: str
    max_concurrent: int = Field(default=2, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    settings: dict[str, SecretStr] = Field(default_factory=dict)
    mounts: dict[str, str] = Field(default_factory=dict)
    sandbox: bool = Field(
        default=False,
        description="process runtime: run each job in bubblewrap (bwrap), seeing its job "
        "directory read-write, its inputs and the rest read-only, seedpipe's data_dir not at "
        "all, in a PID namespace it cannot leave",
    )


class MetaComparison(_Section):
    """A condition on a meta_data property, with Scale's recipe-condition operators."""

    property: str
    op: Literal["==", "!=", "<", "<=", ">", ">=", "between", "in", "contains"]
    value: Any


class TriggerConditions(_Section):
    data_types_all: list[str] = Field(default_factory=list)
    data_types_any: list[str] = Field(default_factory=list)
    data_types_none: list[str] = Field(default_factory=list)
    media_types: list[str] = Field(default_factory=list)
    file_name_regex: str | None = None
    workspaces: list[str] = Field(default_factory=list)
    intersects: dict[str, Any] | None = None
    data_time: str | None = Field(default=None, description="ISO interval, open ends with ..")
    meta_data: list[MetaComparison] = Field(default_factory=list)


class RecipeTypeSettings(_Section):
    """A recipe type: Scale's recipe definition JSON (version 6 or 7), read as it is."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    definition: str = Field(description="path to the definition JSON (relative to the config)")


class TriggerSettings(_Section):
    name: str
    on: list[str] = Field(default_factory=lambda: ["seedpipe.file.ingested"])
    job_type: str | None = Field(default=None, description="the job type the trigger starts")
    recipe_type: str | None = Field(default=None, description="or the recipe type it starts")
    input: str = Field(description="the job input (or recipe input) the file is given to")
    conditions: TriggerConditions = Field(default_factory=TriggerConditions)
    subscription: str | None = Field(default=None, description="for subscription.matched")


class CaptureSettings(_Section):
    work_dir: str = "jobs"
    cpus: float = Field(default_factory=lambda: float(os.cpu_count() or 1), gt=0)
    mem_mib: float = Field(default=4096, gt=0)
    keep_job_dirs: bool = False
    job_log_max_mib: float = Field(
        default=64, gt=0, description="job.log keeps this much of each run's stdout and stderr"
    )
    commit: Literal["queued", "finished", "auto"] = Field(
        default="auto",
        description="commit a trigger event once its jobs are queued, or once they are finished "
        "(survives losing this copy's job store); auto: finished on Kafka, queued on SQLite",
    )
    consumers: int | None = Field(
        default=None, ge=1, description="consumers waiting on jobs when commit is finished"
    )


class ApiAuthSettings(_Section):
    """Who may change things over HTTP: bearer tokens and/or basic credentials (never logged)."""

    tokens: list[SecretStr] = Field(default_factory=list, description="accepted bearer tokens")
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = None
    protect_reads: bool = Field(default=False, description="ask for credentials on reads too")

    @model_validator(mode="after")
    def _pair(self) -> ApiAuthSettings:
        if (self.username is None) != (self.password is None):
            missing = "password" if self.password is None else "username"
            raise ValueError(f"{missing}: basic credentials need both username and password")
        for i, token in enumerate(self.tokens):
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"tokens[{i}]: a bearer token must be at least 16 characters")
        if self.protect_reads and not self.enabled:
            raise ValueError("protect_reads: needs tokens or username and password")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.tokens) or self.username is not None


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    tile_url: str | None = Field(
        default=None,
        description="XYZ tiles for the web map, https://host/{z}/{x}/{y}.png; else the offline "
        "country outlines",
        max_length=2048,
    )
    tile_attribution: str = Field(default="", max_length=512)

    @field_validator("tile_url")
    @classmethod
    def _xyz(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in value]
        if missing:
            raise ValueError(f"must contain {', '.join(missing)} (an XYZ tile template)")
        if any(c in value for c in "\"'<>\\ ") or any(ord(c) < 32 for c in value):
            raise ValueError(
                "must not contain quotes, angle brackets, spaces or control characters"
            )
        return value

    cors_origins: list[str] = Field(
        default_factory=list,
        description='origins allowed to call the API from a browser ("*" for any); none: no CORS',
    )
    license: str = Field(
        default="proprietary",
        min_length=1,
        max_length=128,
        description="the STAC license of every collection (an SPDX id, or proprietary)",
    )
    auth: ApiAuthSettings = Field(default_factory=ApiAuthSettings)


class Settings(BaseSettings):
    """Everything seedpipe can be told. TOML first, ``SEEDPIPE_*`` env vars override it."""

    model_config = SettingsConfigDict(
        env_prefix="SEEDPIPE_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: str = "data"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    bus: BusSettings = Field(default_factory=BusSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    workspaces: dict[str, WorkspaceSettings] = Field(default_factory=dict)
    strikes: list[StrikeSettings] = Field(default_factory=list)
    job_types: list[JobTypeSettings] = Field(default_factory=list)
    recipe_types: list[RecipeTypeSettings] = Field(default_factory=list)
    triggers: list[TriggerSettings] = Field(default_factory=list)
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    config_dir: str = Field(default=".", description="set by load(): base of relative paths")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the TOML file (passed as init kwargs).
        return (env_settings, init_settings)

    @field_validator("workspaces")
    @classmethod
    def _workspace_names(cls, value: dict[str, WorkspaceSettings]) -> dict[str, WorkspaceSettings]:
        for name in value:
            if not name or not all(c.isalnum() or c in "-_." for c in name):
                raise ValueError(f"workspace name {name!r} may hold only letters, digits, - _ .")
        return value

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        base = Path(self.config_dir).resolve()
        data_dir = (base / self.data_dir).resolve()
        self.config_dir = str(base)
        self.data_dir = str(data_dir)
        self.bus.url = resolve_url(self.bus.url, data_dir)
        self.index.url = resolve_url(self.index.url, data_dir)
        for ws in self.workspaces.values():
            ws.url = resolve_url(ws.url, base)
        for strike in self.strikes:
            strike.drop = resolve_url(strike.drop, base)
            if strike.workspace not in self.workspaces:
                raise ValueError(
                    f"strikes[{strike.name}].workspace: unknown workspace {strike.workspace!r}"
                )
            for i, rule in enumerate(strike.rules):
                if rule.new_workspace and rule.new_workspace not in self.workspaces:
                    raise ValueError(
                        f"strikes[{strike.name}].rules[{i}].new_workspace: unknown workspace "
                        f"{rule.new_workspace!r}"
                    )
        for jt in self.job_types:
            jt.manifest = str((base / jt.manifest).resolve())
            if jt.output_workspace not in self.workspaces:
                raise ValueError(
                    f"job_types[{jt.name}].output_workspace: unknown workspace "
                    f"{jt.output_workspace!r}"
                )
        names = {jt.name for jt in self.job_types}
        recipe_names = {rt.name for rt in self.recipe_types}
        for rt in self.recipe_types:
            rt.definition = str((base / rt.definition).resolve())
        for trig in self.triggers:
            if (trig.job_type is None) == (trig.recipe_type is None):
                raise ValueError(
                    f"triggers[{trig.name}]: give either job_type or recipe_type (exactly one)"
                )
            if trig.job_type is not None and trig.job_type not in names:
                raise ValueError(
                    f"triggers[{trig.name}].job_type: unknown job type {trig.job_type!r}"
                )
            if trig.recipe_type is not None and trig.recipe_type not in recipe_names:
                raise ValueError(
                    f"triggers[{trig.name}].recipe_type: unknown recipe type {trig.recipe_type!r}"
                )
        work = Path(self.capture.work_dir)
        self.capture.work_dir = str(work if work.is_absolute() else data_dir / work)
        for setting, path in self.local_dirs():
            problem = _not_a_directory(path)
            if problem:
                raise ValueError(f"{setting}: {path} {problem}")
        return self

    def local_dirs(self) -> list[tuple[str, Path]]:
        """(dotted setting, directory) for every local directory the services create and use."""
        dirs = [
            ("data_dir", Path(self.data_dir)),
            ("capture.work_dir", Path(self.capture.work_dir)),
        ]
        for key, url in (("bus.url", self.bus.url), ("index.url", self.index.url)):
            if url.startswith("sqlite:///"):
                dirs.append((key, sqlite_path(url).parent))
        for name, ws in self.workspaces.items():
            if ws.url.startswith("file:"):
                dirs.append((f"workspaces.{name}.url", file_path(ws.url)))
        for strike in self.strikes:
            if strike.drop.startswith("file:"):
                dirs.append((f"strikes[{strike.name}].drop", file_path(strike.drop)))
        return dirs

    def make_dirs(self) -> None:
        """Create the local directories the settings name; ConfigError naming the setting when
        one cannot be (a pseudo-filesystem, no permission, a full or read-only disk)."""
        for setting, path in self.local_dirs():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                where = (
                    f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
                )
                raise ConfigError(f"{setting}: cannot create {path}: {reason}{where}") from exc

    def path(self, *parts: str) -> Path:
        """A path under data_dir."""
        return Path(self.data_dir).joinpath(*parts)

    def topic(self, name: str) -> str:
        """The topic name with the configured prefix (``seedpipe.files`` → ``<prefix>.files``)."""
        if self.bus.topic_prefix == "seedpipe" or not name.startswith("seedpipe."):
            return name
        return self.bus.topic_prefix + name[len("seedpipe") :]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Read a TOML config file (or none), apply env vars, validate; raise ConfigError."""
        data: dict[str, Any] = {}
        config_dir = Path.cwd()
        if path is not None:
            p = Path(path)
            try:
                with p.open("rb") as fh:
                    data = tomllib.load(fh)
            except FileNotFoundError as exc:
                raise ConfigError(f"--config: config file {p} does not exist") from exc
            except IsADirectoryError as exc:
                raise ConfigError(f"--config: {p} is a directory, not a config file") from exc
            except OSError as exc:
                raise ConfigError(f"--config: cannot read {p}: {exc.strerror or exc}") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
            config_dir = p.resolve().parent
        data.setdefault("config_dir", str(config_dir))
        data.update(overrides)
        try:
            return cls(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, path)) from exc
        except SettingsError as exc:  # an environment value that is not the JSON it must be
            field = re.search(r'field "([^"]+)"', str(exc))
            source = _env_source((field.group(1),)) if field else None
            raise ConfigError(
                f"invalid setting from environment variable {source or ENV_PREFIX + '*'}: "
                f"{field.group(1) if field else '$'}: not valid JSON"
            ) from exc


ENV_PREFIX = "SEEDPIPE_"


def _env_source(loc: tuple[Any, ...]) -> str | None:
    """The SEEDPIPE_* variable a value at ``loc`` came from: the variable for ``loc`` or one
    of its parents (a JSON value), or the variables below it (``__`` levels), else None."""
    names = {k.upper(): k for k in os.environ if k.upper().startswith(ENV_PREFIX)}
    if not names:
        return None
    parts = [str(p).upper() for p in loc]
    for i in range(len(parts), 0, -1):
        name = ENV_PREFIX + "__".join(parts[:i])
        if name in names:
            return names[name]
    if parts:
        below = sorted(
            v for k, v in names.items() if k.startswith(ENV_PREFIX + "__".join(parts) + "__")
        )
        if below:
            return ", ".join(below)
    return None


def _describe(exc: ValidationError, path: str | os.PathLike[str] | None) -> str:
    """One line per problem, naming the setting and where its value came from: the environment
    variable that set it, else the config file. Input values are never echoed."""
    file_problems, env_problems = [], []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        text = f"{'.'.join(str(p) for p in loc)}: {msg}" if loc else msg
        loc = loc if err["loc"] else ()
        if not loc:  # a model check: its message starts with the dotted setting it is about
            head = msg.split(":", 1)[0]
            loc = tuple(head.split(".")) if re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", head) else ()
        source = _env_source(loc) if loc else None
        if source:
            hint = ""
            if err["type"] == "list_type" and "__" in source:
                hint = f" (a list is set whole, as JSON: {ENV_PREFIX}{str(loc[0]).upper()}='[…]')"
            env_problems.append(f"invalid setting from environment variable {source}: {text}{hint}")
        else:
            file_problems.append(text)
    out = env_problems
    if file_problems:
        where = f" in {path}" if path else ""
        out.append(f"invalid settings{where}: {'; '.join(file_problems)}")
    return "; ".join(out)


def _not_a_directory(path: Path) -> str | None:
    """Why ``path`` can never be a directory (it, or an ancestor, is something else), or None."""
    probe = path
    while True:
        try:
            st = probe.stat()
        except FileNotFoundError:
            if probe.parent == probe:
                return None
            probe = probe.parent
            continue
        except NotADirectoryError:
            probe = probe.parent
            continue
        except OSError as exc:
            return f"cannot be checked: {exc.strerror or exc}"
        if stat.S_ISDIR(st.st_mode):
            return None
        return "is a file, not a directory" if probe == path else f"is under a file ({probe})"


def resolve_url(url: str, base: Path) -> str:
    """Make ``sqlite:`` and ``file:`` URLs (or bare paths) absolute against ``base``.

    ``sqlite:///rel.db`` is relative, ``sqlite:////abs.db`` absolute (SQLAlchemy's convention);
    a bare path becomes ``file:///abs``; other schemes are returned unchanged.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        rest = url[len("sqlite://") :] if url.startswith("sqlite://") else url[len("sqlite:") :]
        rest = rest[1:] if rest.startswith("/") else rest
        p = Path(rest)
        return "sqlite:///" + str(p if p.is_absolute() else (base / p).resolve())
    if scheme == "file":
        p = Path(parts.path)
        return (base / p).resolve().as_uri() if not p.is_absolute() else p.as_uri()
    if not scheme or (len(scheme) == 1 and os.name == "nt"):
        p = Path(url)
        return (p if p.is_absolute() else (base / p).resolve()).as_uri()
    return url


def sqlite_path(url: str) -> Path:
    """The file path of a resolved ``sqlite:///`` URL."""
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"not a sqlite URL: {url!r}")
    return Path(url[len("sqlite:///") :]).resolve()


def file_path(url: str) -> Path:
    """The directory of a resolved ``file://`` URL."""
    from urllib.request import url2pathname

    parts = urlsplit(url)
    if parts.scheme != "file":
        raise ConfigError(f"not a file URL: {url!r}")
    return Path(url2pathname(parts.path))
