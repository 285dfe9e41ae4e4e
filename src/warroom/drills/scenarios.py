"""Loading scenario YAML: one readable line per problem, for `warroom procedure check` and uploads."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from warroom.drills.schemas import Scenario

SHIPPED_DIR = Path(__file__).with_name("scenarios")


class ScenarioInvalid(ValueError):
    """A scenario that does not validate; ``problems`` are one-line, human-readable messages."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("; ".join(f"{source}: {p}" for p in problems))


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_scenario_text(text: str, *, source: str = "<upload>") -> Scenario:
    try:
        data = YAML(typ="safe").load(text)
    except (YAMLError, ValueError) as exc:
        raise ScenarioInvalid(source, [f"YAML error: {' '.join(str(exc).split())}"]) from None
    if not isinstance(data, dict):
        raise ScenarioInvalid(source, ["the top level must be a mapping (id, title, alerts, expect ...)"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ScenarioInvalid(source, problems) from None


def load_scenario_file(path: Path) -> Scenario:
    return load_scenario_text(path.read_text(encoding="utf-8"), source=path.name)


def scenario_files(directory: Path = SHIPPED_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def check_scenarios(directory: Path = SHIPPED_DIR) -> list[str]:
    """Every problem in every scenario of ``directory``, one line each; empty when all are valid."""
    lines: list[str] = []
    for path in scenario_files(directory):
        try:
            load_scenario_file(path)
        except ScenarioInvalid as exc:
            lines.extend(f"{exc.source}: {problem}" for problem in exc.problems)
    return lines
