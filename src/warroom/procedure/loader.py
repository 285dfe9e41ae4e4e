"""Load ``procedure.yaml``: parse, validate, hash, and report every problem with its line.

ruamel.yaml's round-trip loader keeps the line and column of every node, so each pydantic
error ``loc`` (and each cross-check loc) can be walked back to the place in the file a person
has to edit. Problems are collected, never raised one at a time: fixing a file one error per
run is miserable.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from warroom.procedure.schemas import (
    CONSISTENCY_ERROR,
    CrossCheckProblem,
    Loc,
    Procedure,
    cross_check,
    format_loc,
)

DEFAULT_SOURCE = "<default>"
_Position = tuple[int | None, int | None]


@dataclass(frozen=True)
class ProcedureProblem:
    """One thing wrong with a procedure file; line and column are 1-based."""

    source: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProcedureInvalid(Exception):
    """The procedure cannot be used; ``problems`` lists everything that is wrong."""

    def __init__(self, problems: list[ProcedureProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class LoadedProcedure:
    """A validated procedure plus where it came from and its content hash."""

    procedure: Procedure
    version_hash: str
    source: str
    text: str

    @property
    def short_hash(self) -> str:
        return self.version_hash[:12]


def procedure_hash(procedure: Procedure) -> str:
    """sha256 of the canonical JSON form: comments, key order and formatting do not count."""
    canonical = json.dumps(
        procedure.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_procedure_text(text: str, *, source: str = "<string>") -> LoadedProcedure:
    """Parse and validate procedure YAML; raises :class:`ProcedureInvalid` listing every problem."""
    root = _parse(text, source)
    data = _plain(root)
    try:
        procedure = Procedure.model_validate(data)
    except ValidationError as exc:
        raise ProcedureInvalid(_problems(exc, root, data, source)) from None
    return LoadedProcedure(
        procedure=procedure, version_hash=procedure_hash(procedure), source=source, text=text
    )


def load_procedure_file(path: str | Path) -> LoadedProcedure:
    """Load a procedure file; an unreadable file is a :class:`ProcedureInvalid` too."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ProcedureInvalid(
            [ProcedureProblem(source, None, None, "", f"cannot read file: {reason}")]
        ) from None
    except UnicodeDecodeError as exc:
        problem = ProcedureProblem(source, None, None, "", f"file is not valid UTF-8 (byte {exc.start})")
        raise ProcedureInvalid([problem]) from None
    return load_procedure_text(text, source=source)


@functools.cache
def load_default_procedure() -> LoadedProcedure:
    """The procedure shipped with warroom (``default.yaml`` inside this package). Parsed once per process:
    the package's own file cannot change while it runs, and the result is immutable (frozen models)."""
    text = resources.files("warroom.procedure").joinpath("default.yaml").read_text(encoding="utf-8")
    return load_procedure_text(text, source=DEFAULT_SOURCE)


# ---------------------------------------------------------------------------------------------
# YAML parsing


def _parse(text: str, source: str) -> CommentedMap:
    yaml = YAML(typ="rt")  # round-trip mode: the only one that records node positions
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        raise ProcedureInvalid([_yaml_problem(exc, source)]) from None
    except YAMLError as exc:
        raise ProcedureInvalid([ProcedureProblem(source, None, None, "", f"YAML error: {exc}")]) from None
    except (ValueError, OverflowError) as exc:
        # ruamel builds dates itself and lets e.g. "2026-13-01" escape without a position.
        raise ProcedureInvalid(
            [ProcedureProblem(source, None, None, "", f"invalid YAML value: {exc}")]
        ) from None
    if root is None:
        raise ProcedureInvalid([ProcedureProblem(source, 1, 1, "", "the procedure is empty")])
    if not isinstance(root, CommentedMap):
        line, column = _node_position(root)
        message = f"the top level must be a mapping of procedure sections, not a {_kind(root)}"
        raise ProcedureInvalid([ProcedureProblem(source, line or 1, column or 1, "", message)])
    return root


def _yaml_problem(exc: MarkedYAMLError, source: str) -> ProcedureProblem:
    mark = exc.problem_mark or exc.context_mark
    detail = exc.problem or str(exc)
    if exc.context:
        detail += f" ({exc.context})"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return ProcedureProblem(source, line, column, "", f"YAML syntax error: {detail}")


def _kind(node: Any) -> str:
    if isinstance(node, list):
        return "list"
    return "string" if isinstance(node, str) else "number" if isinstance(node, int | float) else "scalar"


def _node_position(node: Any) -> _Position:
    lc = getattr(node, "lc", None)
    return (lc.line + 1, lc.col + 1) if lc is not None else (None, None)


def _plain(node: Any) -> Any:
    """Convert ruamel's comment-carrying containers and scalar subclasses to plain Python.

    The frozen models should hold ordinary values, and hashing must not depend on how a
    scalar happened to be spelled (quoted, block scalar, ...).
    """
    if isinstance(node, dict):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool):
        return bool(node)
    for plain_type in (str, int, float):
        if isinstance(node, plain_type):
            return plain_type(node)
    return node  # None, date, datetime: already plain


# ---------------------------------------------------------------------------------------------
# Mapping validation errors back to the file


def _locate(root: CommentedMap, loc: Loc, *, at_key: bool = False) -> _Position:
    """Line/column of the node at ``loc``, or of the deepest existing ancestor.

    A missing key (e.g. "Field required") therefore points at the mapping that lacks it, and
    loc parts pydantic adds that have no YAML counterpart are simply ignored.
    """
    node: Any = root
    position: tuple[int, int] = (root.lc.line, root.lc.col)
    for index, part in enumerate(loc):
        # lc.data only knows keys written in this mapping; keys pulled in by a YAML merge ("<<")
        # have no position here, so such errors point at the mapping that does the merge.
        if not isinstance(node, CommentedMap | CommentedSeq) or part not in node.lc.data:
            break
        child = node[part]
        if isinstance(node, CommentedSeq):
            position = node.lc.item(part)
        elif index == len(loc) - 1 and not at_key and not isinstance(child, CommentedMap | CommentedSeq):
            position = node.lc.value(part)  # a bad scalar: point at the value itself
        else:
            position = node.lc.key(part)
        node = child
    return position[0] + 1, position[1] + 1


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class validating the mapping at ``loc`` (list indexes are skipped)."""
    model: Any = Procedure
    for part in loc:
        if isinstance(part, int):
            continue
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        if part not in fields:
            return None
        model = fields[part].annotation
        if get_origin(model) is list:
            model = get_args(model)[0]
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _message(error: ErrorDetails) -> str:
    """Rephrase pydantic's generic messages for someone editing YAML by hand."""
    loc = error["loc"]
    if error["type"] == "missing":
        return f"required key {loc[-1]!r} is missing"
    if error["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}{listed}"
    if error["type"] == "too_short" and isinstance(error["input"], list):
        return "must not be empty"
    if error["type"] == "string_type" and isinstance(error["input"], int | float):
        # Unquoted labels like 2026.1 or ids like 404 are numbers to YAML.
        return f"expected text, got the number {error['input']!r}; put the value in quotes"
    return error["msg"].removeprefix("Value error, ")


def _consistency_problems(errors: list[ErrorDetails], data: Any) -> list[CrossCheckProblem]:
    for error in errors:
        if error["type"] == CONSISTENCY_ERROR:
            problems: list[CrossCheckProblem] = error.get("ctx", {}).get("problems", [])
            return problems
    # Fields failed, so pydantic skipped the after-validator: cross-check the raw data instead.
    return cross_check(data) if isinstance(data, dict) else []


def _problems(exc: ValidationError, root: CommentedMap, data: Any, source: str) -> list[ProcedureProblem]:
    errors = exc.errors(include_url=False)
    problems: list[ProcedureProblem] = []
    for error in errors:
        if error["type"] == CONSISTENCY_ERROR:
            continue  # expanded below, one problem per element
        loc = tuple(error["loc"])
        line, column = _locate(root, loc, at_key=error["type"] == "extra_forbidden")
        problems.append(ProcedureProblem(source, line, column, format_loc(loc), _message(error)))
    for loc, message in _consistency_problems(errors, data):
        line, column = _locate(root, loc)
        problems.append(ProcedureProblem(source, line, column, format_loc(loc), message))
    return sorted(set(problems), key=lambda p: (p.line or 0, p.column or 0, p.path, p.message))
