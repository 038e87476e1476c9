"""The executable schema and the request -> (HTTP status, JSON body) step, gqlgen-style.

Parse and validation errors are HTTP 422 with only `errors`; resolver errors are HTTP 200 with
`errors` next to partial `data`, the way Stash's gqlgen server answers. A resolver error is
presented by gqlgen's `DefaultErrorPresenter` (internal/api/error.go keeps it): `message` and
`path` only, no `locations`, e.g.
`{"errors":[{"message":"scene with id 7 not found","path":["findScenes"]}],"data":null}`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import graphql

from stashplex.sandbox.stash.context import RequestContext
from stashplex.sandbox.stash.resolvers import Resolver

UNPROCESSABLE = 422


@functools.cache
def schema_sdl() -> str:
    return resources.files("stashplex.sandbox.stash").joinpath("schema.graphql").read_text("utf-8")


def build_executable_schema(resolvers: dict[str, dict[str, Resolver]]) -> graphql.GraphQLSchema:
    schema = graphql.build_schema(schema_sdl())
    for type_name, fields in resolvers.items():
        object_type = schema.type_map[type_name]
        assert isinstance(object_type, graphql.GraphQLObjectType)
        for field_name, resolve in fields.items():
            object_type.fields[field_name].resolve = resolve
    base_file = schema.type_map["BaseFile"]
    assert isinstance(base_file, graphql.GraphQLInterfaceType)
    base_file.resolve_type = lambda *_: "VideoFile"
    return schema


@dataclass(frozen=True)
class ParsedOperation:
    """What the request counter needs to know before execution: operation and root fields."""

    document: graphql.DocumentNode
    operation_name: str | None
    root_fields: tuple[str, ...]

    @property
    def has_mutation(self) -> bool:
        """gqlgen's GET transport refuses mutations (HTTP 406)."""
        return any(
            isinstance(definition, graphql.OperationDefinitionNode)
            and definition.operation == graphql.OperationType.MUTATION
            for definition in self.document.definitions
        )


def parse_operation(query: str, operation_name: str | None) -> ParsedOperation:
    document = graphql.parse(query)
    root_fields: list[str] = []
    chosen_name = operation_name
    for definition in document.definitions:
        if not isinstance(definition, graphql.OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        if operation_name is not None and name != operation_name:
            continue
        chosen_name = name
        root_fields += [
            selection.name.value
            for selection in definition.selection_set.selections
            if isinstance(selection, graphql.FieldNode)
        ]
        break
    return ParsedOperation(document, chosen_name, tuple(root_fields))


def _errors(errors: list[graphql.GraphQLError]) -> list[dict[str, Any]]:
    return [error.formatted for error in errors]


def _resolver_errors(errors: list[graphql.GraphQLError]) -> list[dict[str, Any]]:
    """gqlgen's presentation of a resolver error: message and path, nothing else."""
    presented: list[dict[str, Any]] = []
    for error in errors:
        entry: dict[str, Any] = {"message": error.message}
        if error.path:
            entry["path"] = list(error.path)
        presented.append(entry)
    return presented


def execute(
    schema: graphql.GraphQLSchema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: RequestContext,
) -> tuple[int, dict[str, Any]]:
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError as error:
        return UNPROCESSABLE, {"errors": _errors([error]), "data": None}
    validation_errors = graphql.validate(schema, document)
    if validation_errors:
        return UNPROCESSABLE, {"errors": _errors(validation_errors), "data": None}
    result = graphql.execute_sync(
        schema,
        document,
        variable_values=variables,
        operation_name=operation_name,
        context_value=context,
    )
    if result.errors and result.data is None and all(not e.path for e in result.errors):
        return UNPROCESSABLE, {"errors": _errors(result.errors), "data": None}
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body = {"errors": _resolver_errors(result.errors), "data": result.data}
    return 200, body
