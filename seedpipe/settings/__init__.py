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
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from seedpipe.errors import ConfigError
from seedpipe.settings.sections import (  # re-exported: the settings vocabulary lives here
    DEFAULT_TOPIC_PREFIX,
    BusSettings,
    ElasticsearchSettings,
    IndexSettings,
    KafkaSettings,
    SqliteBusSettings,
    WorkspaceSettings,
)
from seedpipe.settings.services import (
    ApiAuthSettings,
    ApiSettings,
    CaptureSettings,
    IngestRule,
    JobTypeSettings,
    MetaComparison,
    RecipeTypeSettings,
    StrikeSettings,
    TriggerConditions,
    TriggerSettings,
)

__all__ = [
    "DEFAULT_TOPIC_PREFIX",
    "ApiAuthSettings",
    "ApiSettings",
    "BusSettings",
    "CaptureSettings",
    "ElasticsearchSettings",
    "IndexSettings",
    "IngestRule",
    "JobTypeSettings",
    "KafkaSettings",
    "MetaComparison",
    "RecipeTypeSettings",
    "Settings",
    "SqliteBusSettings",
    "StrikeSettings",
    "TriggerConditions",
    "TriggerSettings",
    "WorkspaceSettings",
]


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
        prefix = self.bus.topic_prefix
        if prefix == DEFAULT_TOPIC_PREFIX or not name.startswith(DEFAULT_TOPIC_PREFIX + "."):
            return name
        return prefix + name[len(DEFAULT_TOPIC_PREFIX) :]

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
