"""Poster and art uploads and selection, through the real plexapi."""

from __future__ import annotations

import hashlib
import io

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import SmallLibrary, connect

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def test_a_poster_uploaded_as_bytes_is_named_by_its_sha1_selected_and_locked(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.alien)
    old_thumb = movie.thumb

    movie.uploadPoster(filepath=io.BytesIO(JPEG))
    movie.reload()

    digest = hashlib.sha1(JPEG).hexdigest()
    selected = [poster for poster in movie.posters() if poster.selected]
    assert [poster.ratingKey for poster in selected] == [f"upload://posters/{digest}"]
    assert movie.thumb != old_thumb
    assert movie.thumb.startswith(f"/library/metadata/{small.alien}/thumb/")
    assert movie.isLocked("thumb")
    assert emulator.item(small.alien)["posters"][-1]["sha1"] == digest


def test_the_uploaded_poster_bytes_are_served_back(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    movie = plex.fetchItem(small.alien)
    movie.uploadPoster(filepath=io.BytesIO(JPEG))
    movie.reload()

    answer = plex._session.get(plex.url(movie.thumb, includeToken=True), timeout=5)

    assert answer.content == JPEG
    assert answer.headers["Content-Type"] == "image/jpeg"


def test_a_poster_by_url_is_recorded_not_fetched_and_selected(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.drama)
    url = "http://posters.invalid/p.jpg?a=1&b=2"

    movie.uploadPoster(url=url)

    posters = {poster.ratingKey: poster.selected for poster in movie.posters()}
    assert posters[url] is True
    assert sum(posters.values()) == 1
    assert emulator.requests.count("POST", template="/library/metadata/{id}/posters") == 1


def test_set_poster_selects_an_earlier_poster(emulator: PlexEmulator, small: SmallLibrary) -> None:
    movie = connect(emulator).fetchItem(small.drama)
    movie.uploadPoster(url="http://posters.invalid/one.jpg")
    movie.uploadPoster(url="http://posters.invalid/two.jpg")
    first = next(p for p in movie.posters() if p.ratingKey.endswith("one.jpg"))

    movie.setPoster(first)

    selected = [p.ratingKey for p in movie.posters() if p.selected]
    assert selected == ["http://posters.invalid/one.jpg"]


def test_art_uploads_go_to_the_art_list(emulator: PlexEmulator, small: SmallLibrary) -> None:
    movie = connect(emulator).fetchItem(small.alien)

    movie.uploadArt(filepath=io.BytesIO(b"art-bytes"))
    movie.reload()

    digest = hashlib.sha1(b"art-bytes").hexdigest()
    assert [a.ratingKey for a in movie.arts() if a.selected] == [f"upload://art/{digest}"]
    assert movie.isLocked("art")
    assert [p.selected for p in movie.posters()] == [True]


def test_an_unlocked_poster_reverts_to_the_agent_poster_on_refresh(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    movie = connect(emulator).fetchItem(small.alien)
    movie.uploadPoster(url="http://posters.invalid/mine.jpg")
    movie.unlockPoster()

    movie.refresh()

    selected = [p.ratingKey for p in movie.posters() if p.selected]
    assert selected == [emulator.item(small.alien)["posters"][0]["ratingKey"]]
    assert selected[0].startswith("metadata://")
