"""Poster and art selection: a re-upload of a held image selects nothing; setPoster does."""

from __future__ import annotations

import hashlib
import io

import pytest
from plexapi.exceptions import NotFound

from stashplex.sandbox.plex import PlexEmulator, Realism
from tests.support.plex import TOKEN, SmallLibrary, build_small_library, connect

FIRST = b"\xff\xd8\xff\xe0" + b"first cover" * 40
SECOND = b"\xff\xd8\xff\xe0" + b"second cover" * 40


def _upload_key(data: bytes, folder: str = "posters") -> str:
    return f"upload://{folder}/{hashlib.sha1(data).hexdigest()}"


def test_re_uploading_a_held_poster_does_not_select_it_again(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: cover A was uploaded, then cover B (B is selected)
    movie = connect(emulator).fetchItem(small.alien)
    movie.uploadPoster(filepath=io.BytesIO(FIRST))
    movie.uploadPoster(filepath=io.BytesIO(SECOND))
    thumb_before = movie.reload().thumb

    # When: cover A is uploaded again (same bytes, same SHA-1)
    movie.uploadPoster(filepath=io.BytesIO(FIRST))
    movie.reload()

    # Then: B stays selected, nothing new is held and the thumb URL did not move
    posters = movie.posters()
    assert [p.ratingKey for p in posters if p.selected] == [_upload_key(SECOND)]
    assert sum(p.ratingKey == _upload_key(FIRST) for p in posters) == 1
    assert movie.thumb == thumb_before


def test_set_poster_with_a_held_upload_moves_the_selection(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: A and B held, B selected
    movie = connect(emulator).fetchItem(small.alien)
    movie.uploadPoster(filepath=io.BytesIO(FIRST))
    movie.uploadPoster(filepath=io.BytesIO(SECOND))
    held_a = next(p for p in movie.posters() if p.ratingKey == _upload_key(FIRST))
    emulator.requests.reset()

    # When: the client selects A the way plexapi does it
    movie.setPoster(held_a)
    movie.reload()

    # Then: one PUT /library/metadata/K/poster?url=upload://posters/<sha1 of A> and A shown
    selects = [e for e in emulator.requests.entries if e.method == "PUT"]
    assert [(e.path, e.query) for e in selects] == [
        (f"/library/metadata/{small.alien}/poster", {"url": _upload_key(FIRST)})
    ]
    assert [p.ratingKey for p in movie.posters() if p.selected] == [_upload_key(FIRST)]
    served = movie._server._session.get(movie.posterUrl, timeout=5).content
    assert served == FIRST
    assert movie.isLocked("thumb")


def test_art_follows_the_same_rules_as_posters(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given: art A then art B uploaded
    movie = connect(emulator).fetchItem(small.drama)
    movie.uploadArt(filepath=io.BytesIO(FIRST))
    movie.uploadArt(filepath=io.BytesIO(SECOND))

    # When: A is uploaded again, then selected with setArt
    movie.uploadArt(filepath=io.BytesIO(FIRST))
    after_reupload = [a.ratingKey for a in movie.arts() if a.selected]
    movie.setArt(next(a for a in movie.arts() if a.ratingKey == _upload_key(FIRST, "art")))

    # Then
    assert after_reupload == [_upload_key(SECOND, "art")]
    assert [a.ratingKey for a in movie.arts() if a.selected] == [_upload_key(FIRST, "art")]


def test_re_posting_a_held_poster_url_does_not_select_it_again(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    movie = connect(emulator).fetchItem(small.drama)
    movie.uploadPoster(url="http://posters.invalid/a.jpg")
    movie.uploadPoster(url="http://posters.invalid/b.jpg")

    # When
    movie.uploadPoster(url="http://posters.invalid/a.jpg")

    # Then
    assert [p.ratingKey for p in movie.posters() if p.selected] == ["http://posters.invalid/b.jpg"]


def test_selecting_a_poster_the_item_does_not_hold_is_refused(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given
    plex = connect(emulator)

    # When: a client selects an image it never uploaded (plexapi only sends listed ratingKeys)
    with pytest.raises(NotFound):
        plex.query(
            f"/library/metadata/{small.alien}/poster?url=upload%3A%2F%2Fposters%2Fdeadbeef",
            method=plex._session.put,
        )

    # Then: the agent's poster is still the only one, and selected
    posters = plex.fetchItem(small.alien).posters()
    assert [(p.ratingKey.startswith("metadata://"), p.selected) for p in posters] == [(True, True)]


def test_the_posters_list_marks_exactly_the_selected_entry(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: the agent's poster plus two uploads
    movie = connect(emulator).fetchItem(small.drama)
    movie.uploadPoster(filepath=io.BytesIO(FIRST))
    movie.uploadPoster(filepath=io.BytesIO(SECOND))

    # When
    posters = movie.posters()

    # Then: everything held is listed, one selected
    assert len(posters) == 3
    assert [p.selected for p in posters] == [False, False, True]
    assert posters[0].ratingKey.startswith("metadata://")


def test_a_lenient_server_reselects_on_re_upload() -> None:
    # Given: the habit switched off (only to isolate something else)
    with PlexEmulator(token=TOKEN, realism=Realism(reupload_reselects=True)) as emulator:
        small = build_small_library(emulator)
        movie = connect(emulator).fetchItem(small.alien)
        movie.uploadPoster(filepath=io.BytesIO(FIRST))
        movie.uploadPoster(filepath=io.BytesIO(SECOND))

        # When
        movie.uploadPoster(filepath=io.BytesIO(FIRST))

        # Then
        assert [p.ratingKey for p in movie.posters() if p.selected] == [_upload_key(FIRST)]
