"""The cast lock's name, the date a refresh fills in, and year vs originallyAvailableAt."""

from __future__ import annotations

from datetime import UTC, datetime

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import SmallLibrary, connect

CAST = {"actor[0].tag.tag": "Ann Example", "actor[0].tagging.text": "Lead", "actor.locked": 1}


def test_the_cast_lock_is_reported_as_actor_by_default(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    movie = connect(emulator).fetchItem(small.drama)

    # When: the cast is written and locked the way plexapi spells it (actor.locked=1)
    movie.edit(**CAST)
    movie.reload()

    # Then
    assert [(f.name, f.locked) for f in movie.fields] == [("actor", True)]
    assert movie.isLocked("actor")


def test_a_server_reporting_the_cast_lock_as_role_is_one_knob_away(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.configure_realism(cast_lock_name="role")
    movie = connect(emulator).fetchItem(small.drama)

    # When
    movie.edit(**CAST)
    movie.reload()

    # Then: a client reading isLocked("actor") sees no lock, though the cast kept its lock
    assert [f.name for f in movie.fields] == ["role"]
    assert not movie.isLocked("actor")
    movie.refresh()
    assert [r.tag for r in movie.reload().roles] == ["Ann Example"]


def test_a_cleared_unlocked_date_comes_back_as_the_added_date_on_refresh(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: Drama Llama has no agent date; a client sets one without locking it
    movie = connect(emulator).fetchItem(small.drama)
    movie.editOriginallyAvailable("2001-02-03", locked=False)

    # When: the date is cleared (unlocked) and Plex refreshes the item
    movie.editField("originallyAvailableAt", "", locked=False)
    movie.refresh()
    movie.reload()

    # Then: PMS put the added date there (PlexKodiConnect #1395)
    added = datetime.fromtimestamp(1_600_000_200, UTC).date().isoformat()
    assert emulator.item(small.drama)["fields"]["originallyAvailableAt"] == added
    assert movie.originallyAvailableAt.strftime("%Y-%m-%d") == added


def test_a_cleared_locked_date_stays_empty_on_refresh(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    movie = connect(emulator).fetchItem(small.alien)

    # When: cleared with the lock plexapi adds by default, then refreshed
    movie.editOriginallyAvailable("")
    movie.refresh()
    movie.reload()

    # Then
    assert movie.originallyAvailableAt is None
    assert movie.isLocked("originallyAvailableAt")


def test_a_locked_empty_date_is_refilled_too_when_the_knob_says_always(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.configure_realism(date_refill="always")
    movie = connect(emulator).fetchItem(small.alien)

    # When
    movie.editOriginallyAvailable("")
    movie.refresh()

    # Then
    assert movie.reload().originallyAvailableAt is not None


def test_year_and_originally_available_at_are_separate_fields(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: Alien, 1979, 1979-05-25
    movie = connect(emulator).fetchItem(small.alien)

    # When: each is written alone
    movie.editOriginallyAvailable("2003-10-31")
    after_date = movie.reload().year
    movie.editField("year", 1986)
    movie.reload()

    # Then: neither moved the other
    assert after_date == 1979
    assert movie.year == 1986
    assert movie.originallyAvailableAt.strftime("%Y-%m-%d") == "2003-10-31"


def test_a_scanned_movie_without_an_agent_date_gets_its_added_date_and_keeps_its_year(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    emulator.put_on_disk("/media/movies/Old Film (1950)/Old Film (1950).mkv")

    # When
    [report] = emulator.scan_now(small.movies)

    # Then: year="1950" originallyAvailableAt=<added date>, as in PlexKodiConnect #1395
    [key] = report.added
    movie = connect(emulator).fetchItem(key)
    added = datetime.fromtimestamp(int(emulator.item(key)["addedAt"]), UTC).date()
    assert movie.year == 1950
    assert movie.originallyAvailableAt.date() == added
