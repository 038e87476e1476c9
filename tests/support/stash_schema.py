"""The real Stash GraphQL schema, so tests can prove every query we send would be accepted by Stash.

The schema lives beside the checkout (`<repo>/../shared/stash-schema`), never inside it, because
Stash's schema files are not ours to ship; tests that need it skip with a clear reason without it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import graphql
import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_SCHEMA_DIR = REPO_ROOT.parent / "shared" / "stash-schema"


def real_schema_dir() -> Path:
    """Locate the real schema folder; skip the calling test when it is not beside the checkout."""
    if not REAL_SCHEMA_DIR.is_dir() or not any(REAL_SCHEMA_DIR.glob("*.graphql")):
        pytest.skip(
            f"real Stash schema not found at {REAL_SCHEMA_DIR} (expected beside the checkout)"
        )
    return REAL_SCHEMA_DIR


@functools.cache
def _build_real_schema(schema_dir: str) -> graphql.GraphQLSchema:
    files = sorted(Path(schema_dir).glob("*.graphql"))
    sdl = "\n".join(path.read_text(encoding="utf-8") for path in files)
    return graphql.build_schema(sdl)


def real_schema() -> graphql.GraphQLSchema:
    """The real Stash schema built with graphql-core (cached: building it takes ~100 ms)."""
    return _build_real_schema(str(real_schema_dir()))


def query_errors(query: str) -> list[str]:
    """Messages of every parse or validation error the real Stash would answer `query` with."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError as error:
        return [error.message]
    return [error.message for error in graphql.validate(real_schema(), document)]


def assert_query_valid(query: str) -> None:
    """Fail the test when real Stash would reject `query` (422) before running it."""
    errors = query_errors(query)
    assert not errors, "query rejected by the real Stash schema:\n" + "\n".join(errors)


def post_graphql(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    *,
    check_real_schema: bool = True,
) -> requests.Response:
    """POST a GraphQL request the way Stash clients do, first proving real Stash would accept it."""
    if check_real_schema:
        assert_query_valid(query)
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return requests.post(url, json=body, headers=headers or {}, timeout=30)
