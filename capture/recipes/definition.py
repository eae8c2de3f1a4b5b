"""Scale's recipe definition JSON (versions 6 and 7) as pydantic models, read as it is written."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedpipe.errors import InvalidInput

JsonType = Literal["array", "boolean", "integer", "number", "object", "string"]
FilterType = Literal[
    "array",
    "boolean",
    "integer",
    "number",
    "object",
    "string",
    "filename",
    "media-type",
    "data-type",
    "meta-data",
]
Condition = Literal[
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "between",
    "in",
    "not in",
    "contains",
    "subset of",
    "superset of",
]
VERSIONS = ("6", "7")
# Scale's interface names; digits are allowed too, as Seed allows them in input names.
PARAM_NAME = r"^[a-zA-Z0-9_-]+$"
NODE_NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$"
# Discriminator tags pydantic puts into error locations; a JSON path leaves them out.
_TAGS = {"job", "condition", "recipe", "dependency"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class FileParam(_Strict):
    name: str = Field(pattern=PARAM_NAME, max_length=255)
    media_types: list[str] = Field(default_factory=list)
    required: bool = True
    multiple: bool = False


class JsonParam(_Strict):
    name: str = Field(pattern=PARAM_NAME, max_length=255)
    type: JsonType
    required: bool = True


class Interface(_Strict):
    """Scale's data interface: file inputs and JSON inputs."""

    version: str | None = None
    files: list[FileParam] = Field(default_factory=list)
    json_: list[JsonParam] = Field(default_factory=list, alias="json")

    def file(self, name: str) -> FileParam | None:
        return next((f for f in self.files if f.name == name), None)

    def json_param(self, name: str) -> JsonParam | None:
        return next((j for j in self.json_ if j.name == name), None)

    def names(self) -> list[str]:
        return [f.name for f in self.files] + [j.name for j in self.json_]


class Filter(_Strict):
    """One of a data filter's filters."""

    name: str
    type: FilterType
    condition: Condition
    values: list[Any] = Field(min_length=1)
    fields: list[Annotated[list[str], Field(min_length=1)]] | None = Field(
        default=None, min_length=1
    )
    all_fields: bool = True
    all_files: bool = False


class DataFilter(_Strict):
    version: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    all: bool = True


class Dependency(_Strict):
    name: str
    acceptance: bool = True


class RecipeConnection(_Strict):
    type: Literal["recipe"]
    input: str


class DependencyConnection(_Strict):
    type: Literal["dependency"]
    node: str
    output: str


Connection = Annotated[RecipeConnection | DependencyConnection, Field(discriminator="type")]


class JobNodeType(_Strict):
    node_type: Literal["job"]
    job_type_name: str = Field(min_length=1)
    job_type_version: str = Field(min_length=1)
    # When given, it must be the job type's current revision (capture.revisions, at start-up).
    job_type_revision: int | None = Field(default=None, ge=1)


class ConditionNodeType(_Strict):
    node_type: Literal["condition"]
    interface: Interface
    data_filter: DataFilter


class RecipeNodeType(_Strict):
    node_type: Literal["recipe"]
    recipe_type_name: str = Field(min_length=1)
    recipe_type_revision: int | None = None


NodeType = Annotated[
    JobNodeType | ConditionNodeType | RecipeNodeType, Field(discriminator="node_type")
]


class Node(_Strict):
    dependencies: list[Dependency] = Field(default_factory=list)
    input: dict[str, Connection] = Field(default_factory=dict)
    node_type: NodeType

    @property
    def kind(self) -> str:
        return self.node_type.node_type


class RecipeDefinition(_Strict):
    """A recipe definition: its input interface and its graph of nodes."""

    version: str
    input: Interface = Field(default_factory=Interface)
    nodes: dict[str, Node]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def json_path(loc: tuple[int | str, ...]) -> str:
    """``$.nodes.a.node_type.job_type_name`` for a pydantic error location."""
    parts = list(loc)
    out = "$"
    for i, part in enumerate(parts):
        # the union's discriminator: node_type.<tag> and input.<name>.<tag>
        tag = isinstance(part, str) and part in _TAGS and i > 0
        if tag and (parts[i - 1] == "node_type" or (i >= 2 and parts[i - 2] == "input")):
            continue
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(JSON path, message) for every schema problem, without echoing input values."""
    return [
        (json_path(tuple(e["loc"])), e["msg"])
        for e in exc.errors(include_input=False, include_url=False)
    ]


class DefinitionError(InvalidInput):
    """A recipe definition is invalid; ``problems`` lists every (JSON path, message)."""

    def __init__(self, problems: list[tuple[str, str]], *, where: str = "definition") -> None:
        self.problems = problems
        text = "; ".join(f"{p}: {m}" for p, m in problems)
        super().__init__(text, field=where)


def parse_definition(raw: Any) -> RecipeDefinition:
    """The schema-valid definition, or DefinitionError listing every schema problem."""
    if not isinstance(raw, dict):
        raise DefinitionError([("$", "a recipe definition must be a JSON object")])
    problems: list[tuple[str, str]] = []
    version = raw.get("version")
    if version not in VERSIONS:
        problems.append(("$.version", f"must be one of {', '.join(repr(v) for v in VERSIONS)}"))
    try:
        definition = RecipeDefinition.model_validate(raw)
    except ValidationError as exc:
        problems += [p for p in schema_problems(exc) if p[0] != "$.version" or not problems]
        raise DefinitionError(problems) from None
    if problems:
        raise DefinitionError(problems)
    return definition
