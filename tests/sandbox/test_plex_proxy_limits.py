"""The reverse proxy in front of Plex: 414 for long request lines, 413 for large bodies, and
batched detail reads that fit in one request line."""

from __future__ import annotations

import io

import pytest
import requests
from plexapi.exceptions import BadRequest

from stashplex.sandbox.plex import PlexEmulator, Realism
from tests.support.plex import TOKEN, SmallLibrary, build_small_library, connect

LONG_SUMMARY = "Very long description. " * 400 + "終わり 🎬"


def test_an_edit_whose_request_line_is_over_8_kib_is_refused_with_414_and_not_applied(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: a 9,600-character summary, about 29 KB once percent-encoded in the query string
    movie = connect(emulator).fetchItem(small.alien)
    emulator.requests.reset()

    # When
    with pytest.raises(BadRequest) as refused:
        movie.editSummary(LONG_SUMMARY)

    # Then: plexapi raises BadRequest("(414) request_uri_too_large ..."), Plex never saw it
    assert str(refused.value).startswith("(414) request_uri_too_large")
    assert emulator.item(small.alien)["fields"]["summary"] == "In space no one can hear you scream."
    assert emulator.requests.count(method="PUT") == 0
    assert [(r["status"], r["method"]) for r in emulator.rejections] == [(414, "PUT")]


def test_the_414_is_what_nginx_answers(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given
    url = f"{emulator.url}/library/metadata/{small.alien}?pad={'x' * 9000}"

    # When
    answer = requests.get(url, headers={"X-Plex-Token": TOKEN}, timeout=5)

    # Then
    assert answer.status_code == 414
    assert answer.reason == "Request-URI Too Large"
    assert "<center>nginx</center>" in answer.text
    assert answer.headers["Connection"] == "close"


def test_a_request_line_of_exactly_the_limit_is_served(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: a GET line padded to exactly 8192 bytes
    head = f"GET /library/metadata/{small.alien}?pad="
    pad = "x" * (8192 - len(head) - len(" HTTP/1.1"))

    # When
    answer = requests.get(
        f"{emulator.url}/library/metadata/{small.alien}?pad={pad}",
        headers={"X-Plex-Token": TOKEN},
        timeout=5,
    )

    # Then
    assert answer.status_code == 200


def test_a_body_over_the_proxy_limit_is_refused_with_413(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: a proxy with nginx's default client_max_body_size of 1 MiB
    emulator.configure_realism(max_body_bytes=1024 * 1024)
    movie = connect(emulator).fetchItem(small.alien)

    # When
    with pytest.raises(BadRequest) as refused:
        movie.uploadPoster(filepath=io.BytesIO(b"\xff\xd8" + b"x" * (2 * 1024 * 1024)))

    # Then
    assert str(refused.value).startswith("(413) request_entity_too_large")
    assert len(emulator.item(small.alien)["posters"]) == 1


def test_the_request_line_limit_can_be_lifted_to_isolate_something_else() -> None:
    # Given
    with PlexEmulator(token=TOKEN, realism=Realism(max_request_line=None)) as emulator:
        small = build_small_library(emulator)
        movie = connect(emulator).fetchItem(small.alien)

        # When
        movie.editSummary(LONG_SUMMARY)

        # Then
        assert emulator.item(small.alien)["fields"]["summary"] == LONG_SUMMARY


def test_fetch_items_reads_many_items_in_one_request(emulator: PlexEmulator) -> None:
    # Given: 300 movies
    seeded = emulator.seed(300)
    keys = [item.rating_key for item in seeded]
    plex = connect(emulator)
    emulator.requests.reset()

    # When: plexapi's batched detail read (GET /library/metadata/a,b,c)
    items = plex.fetchItems(keys)

    # Then: every item, in order, complete, from one request
    assert [item.ratingKey for item in items] == keys
    assert emulator.requests.count("GET", template="/library/metadata/{id}") == 1
    assert all(item.librarySectionID for item in items)


def test_a_batch_too_long_for_one_request_line_must_be_split(emulator: PlexEmulator) -> None:
    # Given: 2,000 ratingKeys make a request line of about 10 KB
    keys = [item.rating_key for item in emulator.seed(2000)]
    plex = connect(emulator)

    # When / Then: the whole batch is refused; halves go through
    with pytest.raises(BadRequest, match=r"^\(414\)"):
        plex.fetchItems(keys)
    halves = plex.fetchItems(keys[:1000]) + plex.fetchItems(keys[1000:])
    assert [item.ratingKey for item in halves] == keys
