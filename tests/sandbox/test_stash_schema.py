"""The emulator's schema is a faithful subset of the real Stash schema, and introspection works."""

from __future__ import annotations

import graphql
import pytest
import requests

from stashplex.sandbox.stash import StashEmulator
from stashplex.sandbox.stash.graphql_api import schema_sdl
from tests.support.stash_schema import assert_query_valid, post_graphql, query_errors, real_schema

BUILT_IN_TYPES = set(graphql.specified_scalar_types) | {
    t.name for t in graphql.introspection_types.values()
}


def _subset_mismatches(ours: graphql.GraphQLSchema, real: graphql.GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, our_type in ours.type_map.items():
        if name in BUILT_IN_TYPES:
            continue
        real_type = real.type_map.get(name)
        if real_type is None:
            problems.append(f"type {name} does not exist in Stash")
            continue
        if type(real_type) is not type(our_type):
            problems.append(f"type {name} is a {type(real_type).__name__} in Stash")
            continue
        problems += _type_mismatches(name, our_type, real_type)
    for root in ("query_type", "mutation_type"):
        our_root, real_root = getattr(ours, root), getattr(real, root)
        if our_root is not None and (real_root is None or our_root.name != real_root.name):
            problems.append(f"root {root} differs")
    return problems


def _type_mismatches(
    name: str, ours: graphql.GraphQLNamedType, real: graphql.GraphQLNamedType
) -> list[str]:
    problems: list[str] = []
    if isinstance(ours, graphql.GraphQLEnumType):
        assert isinstance(real, graphql.GraphQLEnumType)
        problems += [
            f"enum value {name}.{v} is not in Stash" for v in ours.values if v not in real.values
        ]
    if isinstance(ours, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
        assert isinstance(real, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
        real_interfaces = {i.name for i in real.interfaces}
        problems += [
            f"{name} does not implement {i.name} in Stash"
            for i in ours.interfaces
            if i.name not in real_interfaces
        ]
        for field_name, field in ours.fields.items():
            real_field = real.fields.get(field_name)
            if real_field is None:
                problems.append(f"field {name}.{field_name} is not in Stash")
                continue
            if str(field.type) != str(real_field.type):
                problems.append(f"{name}.{field_name}: {field.type} vs Stash {real_field.type}")
            problems += _argument_mismatches(f"{name}.{field_name}", field.args, real_field.args)
    if isinstance(ours, graphql.GraphQLInputObjectType):
        assert isinstance(real, graphql.GraphQLInputObjectType)
        problems += _argument_mismatches(name, ours.fields, real.fields)
    if isinstance(ours, graphql.GraphQLUnionType):
        assert isinstance(real, graphql.GraphQLUnionType)
        real_members = {t.name for t in real.types}
        problems += [
            f"{name} member {t.name} not in Stash" for t in ours.types if t.name not in real_members
        ]
    return problems


def _argument_mismatches(where: str, ours: dict, real: dict) -> list[str]:
    problems = []
    for arg_name, arg in ours.items():
        real_arg = real.get(arg_name)
        if real_arg is None:
            problems.append(f"{where}({arg_name}) is not in Stash")
        elif str(arg.type) != str(real_arg.type):
            problems.append(f"{where}({arg_name}): {arg.type} vs Stash {real_arg.type}")
    for arg_name, real_arg in real.items():
        required = (
            graphql.is_non_null_type(real_arg.type) and real_arg.default_value is graphql.Undefined
        )
        if required and arg_name not in ours:
            problems.append(f"{where}({arg_name}) is required by Stash but missing here")
    return problems


def test_every_declaration_of_the_emulator_schema_matches_the_real_stash_schema():
    # Given both schemas
    ours = graphql.build_schema(schema_sdl())

    # When they are compared declaration by declaration
    problems = _subset_mismatches(ours, real_schema())

    # Then nothing the emulator declares differs from Stash
    assert problems == []


def test_the_subset_check_catches_a_wrong_nullability():
    ours = graphql.build_schema(schema_sdl().replace("  title: String\n", "  title: String!\n", 1))

    assert any("title" in problem for problem in _subset_mismatches(ours, real_schema()))


def test_the_subset_check_catches_an_invented_field_and_enum_value():
    sdl = (
        schema_sdl()
        .replace("  NOT_BETWEEN\n", "  NOT_BETWEEN\n  SOMETIMES\n")
        .replace("  code: String\n", "  code: String\n  invented: Int\n", 1)
    )

    problems = _subset_mismatches(graphql.build_schema(sdl), real_schema())

    assert any("SOMETIMES" in p for p in problems)
    assert any("invented" in p for p in problems)


def test_a_query_invalid_for_real_stash_is_reported_by_the_helper():
    errors = query_errors("{ findScene(id: 1) { title rating } }")

    assert any("rating" in message for message in errors)
    with pytest.raises(AssertionError):
        assert_query_valid("{ findScenes { nope } }")


def test_introspection_over_http_describes_the_scene_type():
    with StashEmulator() as stash:
        # When a client introspects the server
        response = requests.post(
            stash.graphql_url, json={"query": graphql.get_introspection_query()}, timeout=30
        )

        # Then it gets a schema that builds and has the Scene fields a sync needs
        client_schema = graphql.build_client_schema(response.json()["data"])
        scene = client_schema.type_map["Scene"]
        assert isinstance(scene, graphql.GraphQLObjectType)
        assert {"id", "title", "files", "paths", "updated_at"} <= set(scene.fields)


def test_a_query_valid_for_real_stash_is_answered_by_the_emulator():
    query = """
    query FindScenes($filter: FindFilterType, $scene_filter: SceneFilterType) {
      findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id title } }
    }"""
    with StashEmulator() as stash:
        stash.add_scene(title="Only")

        response = post_graphql(stash.graphql_url, query, {"filter": {"per_page": 5}})

        assert response.status_code == 200
        assert response.json()["data"]["findScenes"]["count"] == 1
