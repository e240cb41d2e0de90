"""The design card's rules about the shape of the project."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("sources", "schemas", "linkage")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_top_level_layout_is_the_design_cards():
    for name in ("pipelines", "assets", "linkage", "schemas", "sources", "tests"):
        assert (ROOT / name).is_dir(), name
    for name in ("workspace.yaml", "pyproject.toml", "README.md", "Makefile", ".ci/run"):
        assert (ROOT / name).is_file(), name


def test_libraries_never_import_dagster():
    offenders = [
        str(p.relative_to(ROOT))
        for lib in LIBRARIES + ("pipelines/store",)
        for p in (ROOT / lib).rglob("*.py")
        if "dagster" in _imports(p)
    ]
    assert offenders == []
