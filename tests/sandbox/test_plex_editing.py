"""Edits, locks and agent refreshes, sent by the real plexapi."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
from plexapi.exceptions import BadRequest

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import TOKEN, TRICKY_TAG, SmallLibrary, connect


def _put(emulator: PlexEmulator, path: str, params: dict[str, str]) -> requests.Response:
    return requests.put(
        emulator.url + path, params=params, headers={"X-Plex-Token": TOKEN}, timeout=5
    )


def test_field_edits_set_values_and_lock_them(emulator: PlexEmulator, small: SmallLibrary) -> None:
    movie = connect(emulator).fetchItem(small.alien)

    movie.editTitle("Alien: Director's Cut")
    movie.editSummary('Sum & "q" é\nl2')
    movie.editStudio("20th Century")
    movie.editOriginallyAvailable("1979-06-22")
    movie.editUserRating(8)
    movie.editSortTitle("Alien 1")
    movie.reload()

    assert movie.title == "Alien: Director's Cut"
    assert movie.summary == 'Sum & "q" é\nl2'
    assert movie.studio == "20th Century"
    assert movie.originallyAvailableAt == datetime(1979, 6, 22)
    assert movie.userRating == 8.0
    assert movie.titleSort == "Alien 1"
    locked = {field.name for field in movie.fields}
    expected = {"title", "summary", "studio", "originallyAvailableAt", "userRating", "titleSort"}
    assert locked == expected


def test_an_edit_bumps_updated_at(emulator: PlexEmulator, small: SmallLibrary) -> None:
    before = emulator.item(small.alien)["updatedAt"]
    movie = connect(emulator).fetchItem(small.alien)

    movie.editTagline("New tagline")

    assert emulator.item(small.alien)["updatedAt"] > before


def test_unlocking_removes_the_field_marker(emulator: PlexEmulator, small: SmallLibrary) -> None:
    movie = connect(emulator).fetchItem(small.alien)
    movie.editTitle("Locked title")

    movie.editTitle("Unlocked title", locked=False)
    movie.reload()

    assert movie.title == "Unlocked title"
    assert not [field for field in movie.fields if field.name == "title"]


def test_an_invalid_date_is_refused_with_400(emulator: PlexEmulator, small: SmallLibrary) -> None:
    movie = connect(emulator).fetchItem(small.alien)

    with pytest.raises(BadRequest, match="400"):
        movie.editField("originallyAvailableAt", "25/05/1979")

    assert emulator.item(small.alien)["fields"]["originallyAvailableAt"] == "1979-05-25"


def test_genres_are_added_and_removed_including_a_tricky_tag(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.drama)

    movie.addGenre(TRICKY_TAG)
    movie.reload()
    added = [genre.tag for genre in movie.genres]
    movie.removeGenre([TRICKY_TAG, "Drama"])
    movie.reload()

    assert added == ["Drama", TRICKY_TAG]
    assert movie.genres == []
    assert "genre" in {field.name for field in movie.fields}


def test_an_indexed_tag_list_replaces_the_whole_list(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.alien)

    movie.edit(**{"genre[0].tag.tag": "Only One"})

    assert emulator.item(small.alien)["tags"]["genre"] == ["Only One"]


def test_an_empty_tag_parameter_clears_the_list(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.alien)

    movie.edit(**{"genre[].tag": ""})

    assert "genre" not in emulator.item(small.alien)["tags"]


def test_actors_get_thumb_and_role_through_a_raw_edit(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.drama)

    movie.edit(
        **{
            "actor[0].tag.tag": "Actor One",
            "actor[0].tagging.text": "Hero",
            "actor[0].tag.thumb": "http://img.invalid/a.jpg",
            "actor[1].tag.tag": "Actor Two",
            "actor.locked": 1,
        }
    )
    movie.reload()

    assert [(r.tag, r.role, r.thumb) for r in movie.roles] == [
        ("Actor One", "Hero", "http://img.invalid/a.jpg"),
        ("Actor Two", None, None),
    ]
    assert movie.isLocked("actor")


def test_collections_labels_directors_and_writers_are_edited(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.drama)

    movie.addCollection("Llamas")
    movie.addLabel("Watch later")
    movie.addDirector("Jane Doe")
    movie.addWriter("John Roe")
    movie.reload()

    assert [c.tag for c in movie.collections] == ["Llamas"]
    assert [label.tag for label in movie.labels] == ["Watch later"]
    assert [d.tag for d in movie.directors] == ["Jane Doe"]
    assert [w.tag for w in movie.writers] == ["John Roe"]
    assert {"collection", "label", "director", "writer"} <= {f.name for f in movie.fields}


def test_an_unlocked_field_reverts_on_refresh_while_a_locked_one_stays(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.alien)
    movie.edit(**{"title.value": "Raw unlocked title"})
    movie.editSummary("Locked summary")
    movie.addGenre("User genre", locked=False)

    movie.refresh()
    movie.reload()

    assert movie.title == "Alien"
    assert movie.summary == "Locked summary"
    assert [genre.tag for genre in movie.genres] == ["Horror", "Sci-Fi", "Thriller"]
    assert emulator.requests.count("PUT", path=f"/library/metadata/{small.alien}/refresh") == 1


def test_editing_an_unknown_item_is_404(emulator: PlexEmulator, small: SmallLibrary) -> None:
    answer = _put(
        emulator,
        f"/library/sections/{small.movies}/all",
        {"type": "1", "id": "987654", "title.value": "x"},
    )

    assert answer.status_code == 404


def test_editing_an_item_through_another_section_is_400(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    answer = _put(
        emulator,
        f"/library/sections/{small.shows}/all",
        {"type": "4", "id": str(small.alien), "title.value": "x"},
    )

    assert answer.status_code == 400
    assert "not in section" in answer.text
    assert emulator.item(small.alien)["fields"]["title"] == "Alien"


def test_an_unknown_edit_parameter_is_refused_and_changes_nothing(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    answer = _put(
        emulator,
        f"/library/sections/{small.movies}/all",
        {"type": "1", "id": str(small.alien), "title.value": "x", "bogus.value": "y"},
    )

    assert answer.status_code == 400
    assert "bogus" in answer.text
    assert emulator.item(small.alien)["fields"]["title"] == "Alien"


def test_the_per_item_edit_form_is_supported(emulator: PlexEmulator, small: SmallLibrary) -> None:
    answer = _put(
        emulator,
        f"/library/metadata/{small.alien}",
        {"title.value": "Per item", "title.locked": "1"},
    )

    assert answer.status_code == 200
    assert emulator.item(small.alien)["fields"]["title"] == "Per item"
    assert "title" in emulator.item(small.alien)["locks"]


def test_multi_edit_adds_a_tag_to_every_item(emulator: PlexEmulator, small: SmallLibrary) -> None:
    section = connect(emulator).library.sectionByID(small.movies)
    movies = [m for m in section.all() if m.ratingKey in (small.alien, small.drama)]

    section.batchMultiEdits(movies).addLabel("Batch").saveMultiEdits()

    assert emulator.item(small.alien)["tags"]["label"] == ["Batch"]
    assert emulator.item(small.drama)["tags"]["label"] == ["Batch"]


def test_lock_all_field_locks_every_item_of_the_type(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    section = connect(emulator).library.sectionByID(small.movies)

    section.lockAllField("title")

    assert all("title" in emulator.item(key)["locks"] for key in (small.alien, small.drama))


def test_an_episode_is_edited_through_its_show_section(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    episode = connect(emulator).fetchItem(small.episode)

    episode.editTitle("Renamed episode")

    assert emulator.item(small.episode)["fields"]["title"] == "Renamed episode"
    assert emulator.item(small.episode)["locks"] == ["title"]


def test_a_control_character_in_an_edit_does_not_break_the_xml(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.drama)

    movie.editTitle("Bell\x07 title")
    movie.reload()

    assert movie.title == "Bell title"


def test_renaming_a_show_or_season_renames_it_in_the_listed_rows_of_its_children(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given the show's seasons and episodes listed once, so their rows are cached
    section = connect(emulator).library.sectionByID(small.shows)
    show = section.get("The Show")
    before = [(e.grandparentTitle, e.parentTitle) for e in section.searchEpisodes()]
    season_parents_before = [season.parentTitle for season in show.seasons()]

    # When the show is renamed, its seasons are listed again, and then its season is renamed
    show.editTitle("The Renamed Show")
    seasons = show.seasons()
    season_parents_after = [season.parentTitle for season in seasons]
    seasons[0].editTitle("Series One")

    # Then every listing shows the new names
    assert before == [("The Show", "Season 1")] * 2
    assert season_parents_before == ["The Show"]
    assert season_parents_after == ["The Renamed Show"]
    episodes = section.searchEpisodes()
    assert [(e.grandparentTitle, e.parentTitle) for e in episodes] == [
        ("The Renamed Show", "Series One")
    ] * 2
    assert [(e.grandparentTitle, e.parentTitle) for e in show.episodes()] == [
        ("The Renamed Show", "Series One")
    ] * 2
