"""The request log and fault rules on their own, without HTTP."""

from __future__ import annotations

from stashplex.sandbox.plex import Faults, RequestLog
from stashplex.sandbox.plex.requestlog import template_of


def test_numeric_path_segments_are_normalised_to_a_template() -> None:
    assert template_of("/library/metadata/17") == "/library/metadata/{id}"
    assert template_of("/library/metadata/1,2,3") == "/library/metadata/{id}"
    assert template_of("/library/sections/2/all") == "/library/sections/{id}/all"
    assert template_of("/library/sections/all/refresh") == "/library/sections/all/refresh"


def test_the_log_counts_by_method_path_and_template() -> None:
    log = RequestLog()
    log.record("GET", "/library/metadata/1", [])
    log.record("GET", "/library/metadata/2", [("includeGuids", "1")])
    log.record("PUT", "/library/sections/1/all", [("title.value", "é")])

    assert log.count() == 3
    assert log.count("GET") == 2
    assert log.count("get", path="/library/metadata/1") == 1
    assert log.count("GET", template="/library/metadata/{id}") == 2
    assert log.count(template="/library/sections/{id}/all") == 1
    assert log.entries[2].query == {"title.value": "é"}
    log.reset()
    assert len(log) == 0


def test_a_token_in_the_query_is_never_stored() -> None:
    log = RequestLog()

    entry = log.record("GET", "/", [("X-Plex-Token", "secret")])

    assert entry.query == {"X-Plex-Token": "<redacted>"}


def test_a_path_prefix_limits_where_a_fault_applies() -> None:
    faults = Faults()
    faults.status(500, path_prefix="/library/sections")

    assert faults.decide("/library/metadata/1").outcome is None
    assert faults.decide("/library/sections/1/all").status == 500


def test_clear_removes_every_rule() -> None:
    faults = Faults()
    faults.revoke_token()
    faults.drop_connections()

    faults.clear()

    assert faults.decide("/").outcome is None
    assert faults.describe() == {"down": False, "rules": []}
