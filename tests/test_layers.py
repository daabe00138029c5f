"""The layers import downwards only: ``index/`` is a leaf; the domain knows neither SQL nor
HTTP nor the settings; every SQL statement is in the store package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = [
    "answer",
    "article",
    "canonical",
    "config",
    "copies",
    "embedding",
    "flags",
    "furniture",
    "keywords",
    "pipeline",
    "prepare",
    "sketch",
    "stories",
    "text",
    "timeline",
    "voices",
]
ABOVE_THE_DOMAIN = (
    "service.api",
    "service.cli",
    "service.embedder",
    "service.engine",
    "service.onnx_embedder",
    "service.queries",
    "service.reindex",
    "service.settings",
    "service.store",
)
FRAMEWORKS = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "torch")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", sorted((ROOT / "index").glob("*.py")), ids=lambda p: p.name)
def test_index_is_a_leaf(path: Path) -> None:
    assert not [m for m in imports(path) if _under(m, ("service",))]


@pytest.mark.parametrize("name", DOMAIN)
def test_the_domain_imports_no_framework_store_or_settings(name: str) -> None:
    found = imports(ROOT / "service" / f"{name}.py")
    assert not [m for m in found if _under(m, FRAMEWORKS + ABOVE_THE_DOMAIN)]


def test_sql_lives_in_the_store_package() -> None:
    outside = [
        path
        for path in (ROOT / "service").rglob("*.py")
        if "store" not in path.relative_to(ROOT / "service").parts[:1]
        and "migrations" not in path.relative_to(ROOT / "service").parts[:1]
    ]
    assert outside
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imports(path) if _under(m, ("sqlalchemy",)))
        for path in outside
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_store_does_not_reach_up() -> None:
    for path in (ROOT / "service" / "store").glob("*.py"):
        up = ("service.api", "service.cli", "service.engine", "service.reindex", "service.pipeline")
        assert not [m for m in imports(path) if _under(m, up)], path.name


@pytest.mark.parametrize("name", ["engine", "reindex", "embedder", "onnx_embedder"])
def test_the_engine_and_the_jobs_do_not_reach_the_http_layer(name: str) -> None:
    found = imports(ROOT / "service" / f"{name}.py")
    assert not [m for m in found if _under(m, ("service.api", "service.queries", "fastapi"))]
