"""The backend's import rule, checked on the source of every module of `coopride` (imports inside functions
included): a package imports only itself and the packages its row of `MAY_IMPORT` names. The same table is in
docs/design.md ("The backend's layout"); change both together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import coopride

PACKAGE_ROOT = Path(coopride.__file__).parent

# Each part of `coopride` (a subpackage, or a top-level module), and the other parts it may import.
MAY_IMPORT: dict[str, set[str]] = {
    "config": set(),  # the one Settings object; the only reader of the environment
    "domain": set(),  # pure: geometry, regions, matching, traces, pricing
    "chain": set(),  # web3.py: manifest, EIP-712, errors, value types, transactions, the client
    "models": set(),  # the tables and the statuses they store
    "db": set(),  # engine and migrations runner
    "migrations": {"models"},
    "schemas": {"domain", "models"},  # the API's shapes
    "services": {"config", "domain", "chain", "models", "schemas"},
    "settlement": {"config", "db", "domain", "chain", "models", "services"},
    "web": {"config", "chain", "schemas"},  # the web app's pages, assets and its few helper routes
    "api": {"config", "db", "domain", "chain", "models", "schemas", "services", "web"},
    "runner": {"config", "api", "settlement"},
    "demo": {"config", "domain", "chain", "runner"},
    "cli_common": {"config", "db", "chain"},  # what the `coopride` commands share
    "cli_disputes": {"config", "db", "chain", "models", "services", "cli_common"},
    "cli": {"config", "db", "chain", "models", "services", "settlement", "runner", "demo", "cli_common", "cli_disputes"},
}


def _part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE_ROOT)
    return relative.parts[0].removesuffix(".py")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE_ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE_ROOT)


def _coopride_imports(path: Path) -> set[str]:
    """The parts of `coopride` this module imports."""
    package = ["coopride", *path.relative_to(PACKAGE_ROOT).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the module's own package, `level - 1` packages up
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            names = [module]
            if module == "coopride":
                names = [f"coopride.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("coopride.")}
    return found


MODULES = _modules()


def test_every_part_of_the_package_has_a_row():
    assert {_part_of(path) for path in MODULES} == set(MAY_IMPORT)


def test_the_rule_names_only_parts_that_exist():
    for allowed in MAY_IMPORT.values():
        assert allowed <= set(MAY_IMPORT)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE_ROOT)) for p in MODULES])
def test_a_module_imports_only_what_its_part_may(path):
    part = _part_of(path)
    forbidden = _coopride_imports(path) - MAY_IMPORT[part] - {part}
    assert not forbidden, f"{path.relative_to(PACKAGE_ROOT)} ({part}) imports {sorted(forbidden)}"


def test_nothing_below_the_api_imports_it():
    above_the_api = {part for part, allowed in MAY_IMPORT.items() if "api" in allowed} | {"api"}
    assert above_the_api == {"api", "runner"}
    assert all("runner" not in allowed for part, allowed in MAY_IMPORT.items() if part not in {"demo", "cli"})


def test_the_layers_have_no_cycle():
    def reaches(start: str, seen: frozenset[str] = frozenset()) -> set[str]:
        assert start not in seen, f"import cycle through {start}"
        found = set(MAY_IMPORT[start])
        for below in MAY_IMPORT[start]:
            found |= reaches(below, seen | {start})
        return found

    for part in MAY_IMPORT:
        assert part not in reaches(part)


def _environment_readers(path: Path) -> bool:
    """Whether the module reads environment variables: any use of `os.environ` or `os.getenv`, except handing the
    whole environment to a child process (`{**os.environ, ...}`)."""
    tree = ast.parse(path.read_text())
    handed_on = {id(value) for node in ast.walk(tree) if isinstance(node, ast.Dict)
                 for key, value in zip(node.keys, node.values, strict=True) if key is None}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & {"environ", "getenv"}:
            return True
        if isinstance(node, ast.Attribute) and ast.unparse(node) in {"os.environ", "os.getenv"} and id(node) not in handed_on:
            return True
    return False


def test_only_the_settings_read_the_environment():
    readers = {str(path.relative_to(PACKAGE_ROOT)) for path in MODULES if _environment_readers(path)}
    assert readers == {"config.py"}
