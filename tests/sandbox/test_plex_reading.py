"""Reading the emulated Plex server through the real plexapi."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from plexapi.exceptions import NotFound, Unauthorized

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import TOKEN, SmallLibrary, connect


@pytest.fixture
def emulator() -> Iterator[PlexEmulator]:
    with PlexEmulator(token=TOKEN, scan_delay=0.1) as emu:
        yield emu


def test_connecting_costs_exactly_one_request_to_the_root(emulator: PlexEmulator) -> None:
    plex = connect(emulator)

    assert plex.friendlyName == "stashplex-emulator"
    assert plex.machineIdentifier
    assert emulator.requests.count() == 1
    assert emulator.requests.count("GET", path="/") == 1


def test_sections_list_movie_and_show_sections_with_their_locations(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)

    sections = {section.title: section for section in plex.library.sections()}

    assert sections["Movies"].type == "movie"
    assert sections["Movies"].key == small.movies
    assert sections["Movies"].locations == ["/media/movies"]
    assert sections["TV Shows"].type == "show"
    assert sections["TV Shows"].refreshing is False


def test_a_wrong_token_is_answered_with_401(emulator: PlexEmulator) -> None:
    with pytest.raises(Unauthorized):
        connect(emulator, token="not-the-token")

    raw = requests.get(emulator.url + "/library/sections", timeout=5)
    assert raw.status_code == 401
    assert raw.headers["Content-Type"] == "text/html"
    assert raw.headers["X-Plex-Protocol"] == "1.0"
    assert raw.text == (
        "<html><head><title>Unauthorized</title></head>"
        "<body><h1>401 Unauthorized</h1></body></html>"
    )


def test_the_token_is_also_accepted_as_a_query_parameter_and_redacted_in_the_log(
    emulator: PlexEmulator,
) -> None:
    answer = requests.get(emulator.url + "/library", params={"X-Plex-Token": TOKEN}, timeout=5)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/xml;charset=utf-8"
    assert TOKEN not in repr(emulator.requests.entries)


def test_a_25000_item_section_pages_completely(emulator: PlexEmulator) -> None:
    # Given
    movies = emulator.add_section(title="Big", type="movie", locations=["/big"])
    seeded = emulator.seed(25_000, seed=7, sections=[movies])
    section = connect(emulator, timeout=30).library.section("Big")
    emulator.requests.reset()

    # When
    listed = section.all(container_size=1000)

    # Then
    assert len(listed) == 25_000
    assert {item.ratingKey for item in listed} == {item.rating_key for item in seeded}
    assert emulator.requests.count("GET", template="/library/sections/{id}/all") == 25
    starts = [entry.container_start for entry in emulator.requests.entries]
    assert starts == list(range(0, 25_000, 1000))
    assert section.totalViewSize() == 25_000


def test_search_pages_with_container_start_and_size(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    section = connect(emulator).library.sectionByID(small.movies)

    first = section.search(libtype="movie", container_start=0, container_size=2, maxresults=2)
    rest = section.search(libtype="movie", container_start=2, container_size=2, maxresults=2)

    assert [movie.title for movie in first] == ["Alien", "Ame\u0301lie \U0001f3ac"]
    assert [movie.title for movie in rest] == ["Drama Llama"]


def test_title_search_is_a_contains_match_and_limit_caps_the_total(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    section = connect(emulator).library.sectionByID(small.movies)
    emulator.requests.reset()

    found = section.search(title="lama")
    first = section.get("a")

    assert [movie.ratingKey for movie in found] == [small.drama]
    assert first.ratingKey == small.alien
    limited = [e for e in emulator.requests.entries if e.query.get("limit") == "1"]
    assert len(limited) == 1


def test_listing_sorted_by_added_at_descending_puts_the_newest_first(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    section = connect(emulator).library.sectionByID(small.movies)

    newest = section.recentlyAdded(maxresults=3)
    raw = section.fetchItems(f"/library/sections/{small.movies}/all?type=1&sort=addedAt%3Adesc")

    expected = [small.amelie, small.drama, small.alien]
    assert [movie.ratingKey for movie in newest] == expected
    assert [movie.ratingKey for movie in raw] == expected


def test_listings_truncate_tags_while_the_detail_is_complete(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    section = connect(emulator).library.sectionByID(small.movies)
    listed = next(movie for movie in section.all() if movie.ratingKey == small.alien)
    listed._autoReload = False

    detail = connect(emulator).fetchItem(small.alien)
    detail.reload()

    assert len(listed.roles) == 3
    assert len(listed.genres) == 2
    assert len(listed.collections) == 2
    assert listed.fields == []
    assert [role.tag for role in detail.roles] == [
        "Sigourney Weaver",
        "Tom Skerritt",
        "John Hurt",
        "Ian Holm",
    ]
    assert detail.roles[0].role == "Ripley"
    assert [genre.tag for genre in detail.genres] == ["Horror", "Sci-Fi", "Thriller"]
    assert [c.tag for c in detail.collections] == ["Alien Collection", "Favourites", "Space"]
    assert [guid.id for guid in detail.guids] == ["imdb://tt0078748"]


def test_an_item_carries_its_media_part_file(emulator: PlexEmulator, small: SmallLibrary) -> None:
    movie = connect(emulator).fetchItem(small.alien)

    assert movie.locations == ["/media/movies/Alien (1979)/Alien (1979).mkv"]
    assert movie.media[0].parts[0].size == 1234
    assert movie.duration == 7_000_000
    assert movie.librarySectionID == small.movies
    assert movie.year == 1979


def test_fetch_items_asks_once_for_a_comma_list_and_skips_unknown_ids(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    emulator.requests.reset()

    items = plex.fetchItems([small.alien, 99_999, small.drama])

    assert [item.ratingKey for item in items] == [small.alien, small.drama]
    assert emulator.requests.count("GET", template="/library/metadata/{id}") == 1
    assert (
        emulator.requests.entries[0].path == f"/library/metadata/{small.alien},99999,{small.drama}"
    )


def test_an_unknown_item_raises_not_found(emulator: PlexEmulator, small: SmallLibrary) -> None:
    plex = connect(emulator)

    with pytest.raises(NotFound):
        plex.fetchItem(424_242)
    with pytest.raises(NotFound):
        plex.fetchItems([424_242, 424_243])


def test_unicode_titles_round_trip_byte_for_byte(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.amelie)

    assert movie.title == "Ame\u0301lie \U0001f3ac"
    assert movie.title.encode("utf-8") == "Ame\u0301lie \U0001f3ac".encode()
    assert movie.locations == ["/media/movies/Ame\u0301lie/Ame\u0301lie \U0001f3ac.mkv"]
    assert movie.summary == "Line one\nLine two & <three>"


def test_episodes_are_listed_across_the_show_section(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    section = connect(emulator).library.sectionByID(small.shows)

    shows = section.all()
    episodes = section.searchEpisodes()

    assert [show.title for show in shows] == ["The Show"]
    assert shows[0].TYPE == "show"
    assert [(e.grandparentTitle, e.parentIndex, e.index) for e in episodes] == [
        ("The Show", 1, 1),
        ("The Show", 1, 2),
    ]
    second = next(e for e in episodes if e.ratingKey == small.episode)
    assert second.locations == ["/media/shows/The Show/Season 01/The Show - S01E02.mkv"]
    assert second.title == "Second"


def test_a_show_knows_its_seasons_episodes_and_folder(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    show = connect(emulator).library.sectionByID(small.shows).get("The Show")

    assert [season.index for season in show.seasons()] == [1]
    assert [episode.title for episode in show.episodes()] == ["First", "Second"]
    show.reload()
    assert show.locations == ["/media/shows/The Show"]


def test_request_log_counts_by_method_path_and_template(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    emulator.requests.reset()

    plex.fetchItem(small.alien)
    plex.fetchItem(small.drama)
    plex.fetchItem(small.alien)

    assert emulator.requests.count("GET", path=f"/library/metadata/{small.alien}") == 2
    assert emulator.requests.count("GET", template="/library/metadata/{id}") == 3
    assert emulator.requests.count(method="PUT") == 0
    assert emulator.requests.counts() == {"GET /library/metadata/{id}": 3}
