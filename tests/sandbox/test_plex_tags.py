"""Server-owned tag spelling, through the real plexapi (Kometa #201, #2676, PR #3190)."""

from __future__ import annotations

from stashplex.sandbox.plex import PlexEmulator, Realism
from tests.support.plex import TOKEN, SmallLibrary, build_small_library, connect


def test_a_second_spelling_of_a_genre_comes_back_in_the_first_spelling(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: "Horror" is a genre row already (Alien has it)
    movie = connect(emulator).fetchItem(small.drama)

    # When: another item is given the genre spelled "hORROR"
    movie.addGenre("hORROR")
    movie.reload()

    # Then: the server links the existing row (same id) and reports its spelling
    assert [genre.tag for genre in movie.genres] == ["Drama", "Horror"]
    alien = connect(emulator).fetchItem(small.alien)
    alien_horror = next(genre.id for genre in alien.genres if genre.tag == "Horror")
    assert next(genre.id for genre in movie.genres if genre.tag == "Horror") == alien_horror


def test_two_spellings_in_one_edit_are_one_tag(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given
    movie = connect(emulator).fetchItem(small.drama)

    # When: the same new collection arrives in two spellings
    movie.edit(
        **{
            "collection[0].tag.tag": "Summer Nights",
            "collection[1].tag.tag": "summer nights",
            "collection.locked": 1,
        }
    )
    movie.reload()

    # Then: one row, the first spelling
    assert [c.tag for c in movie.collections] == ["Summer Nights"]


def test_a_removal_in_another_case_removes_the_tag(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: Alien has the genre "Sci-Fi"
    movie = connect(emulator).fetchItem(small.alien)

    # When
    movie.removeGenre("SCI-FI")
    movie.reload()

    # Then
    assert [genre.tag for genre in movie.genres] == ["Horror", "Thriller"]


def test_a_new_label_is_capitalised_when_the_server_capitalises_new_tags(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: a server that capitalises the words of new tags (Kometa #201, #2676)
    emulator.configure_realism(tag_capitalization="each-word")
    movie = connect(emulator).fetchItem(small.drama)

    # When
    movie.addLabel(".hidden")
    movie.addCollection("The Water of the Hills")
    movie.reload()

    # Then
    assert [label.tag for label in movie.labels] == [".Hidden"]
    assert [c.tag for c in movie.collections] == ["The Water Of The Hills"]


def test_capitalisation_never_respells_an_existing_row(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: the row "Alien Collection" exists before capitalisation is switched on
    emulator.configure_realism(tag_capitalization="first-letter")
    movie = connect(emulator).fetchItem(small.drama)

    # When
    movie.addCollection("alien collection")
    movie.reload()

    # Then
    assert [c.tag for c in movie.collections] == ["Alien Collection"]
    assert "Alien Collection" in emulator.tag_rows()["collection"]


def test_without_the_habit_each_spelling_is_its_own_tag() -> None:
    # Given: a lenient server (habit off, to isolate something else)
    with PlexEmulator(token=TOKEN, realism=Realism(tag_spelling=False)) as emulator:
        small = build_small_library(emulator)
        movie = connect(emulator).fetchItem(small.drama)

        # When
        movie.editTags("genre", ["horror"])
        movie.reload()

        # Then
        assert [genre.tag for genre in movie.genres] == ["Drama", "horror"]
