"""Login-protected Stash: anonymous pages and images are redirected, cookies expire and refresh.

Source: internal/api/authentication.go, internal/api/session.go, pkg/session/session.go,
gorilla/securecookie (maxAge check), internal/manager/config/config.go (max_session_age 3600).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from stashplex.sandbox.stash import StashEmulator
from tests.support.stash_realism import data, echo_manifest
from tests.support.stash_schema import assert_query_valid

KEY = "realism-key"
VERSION = "query Probe { version { version } }"


@pytest.fixture
def secured() -> Iterator[StashEmulator]:
    with StashEmulator(api_key=KEY, username="stash", password="s3cret") as emulator:
        yield emulator


def post_version(stash: StashEmulator, **kwargs: object) -> requests.Response:
    assert_query_valid(VERSION)
    return requests.post(stash.graphql_url, json={"query": VERSION}, timeout=10, **kwargs)


def test_an_anonymous_screenshot_request_is_redirected_to_the_login_page(secured):
    # Given a Stash with credentials and a scene
    scene_id = secured.add_scene(title="x")

    # When its screenshot is asked for without credentials
    response = requests.get(
        f"{secured.url}/scene/{scene_id}/screenshot?t=123", timeout=10, allow_redirects=False
    )

    # Then Stash answers 302 to /login, carrying the original path and query as returnURL
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == f"/login?returnURL=%2Fscene%2F{scene_id}%2Fscreenshot%3Ft%3D123"
    assert parse_qs(urlsplit(location).query)["returnURL"] == [
        f"/scene/{scene_id}/screenshot?t=123"
    ]
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == f'<a href="{location.replace("&", "&amp;")}">Found</a>.\n\n'


def test_following_the_redirect_lands_on_an_html_login_page_with_status_200(secured):
    # Given a scene with a real cover
    scene_id = secured.add_scene(title="x", cover=b"\x89PNG fake cover")

    # When a client without credentials downloads the screenshot, following redirects
    response = requests.get(f"{secured.url}/scene/{scene_id}/screenshot", timeout=10)

    # Then it ends on the login page: status 200, HTML, not the image
    assert response.status_code == 200
    assert response.url.startswith(f"{secured.url}/login?returnURL=")
    assert response.headers["Content-Type"] == "text/html"
    assert b"<form" in response.content and b"password" in response.content
    assert response.history[0].status_code == 302


def test_anonymous_graphql_and_paths_with_a_file_extension_get_401_not_a_redirect(secured):
    # When /graphql and a path ending in a file extension are asked for anonymously
    graphql = post_version(secured, allow_redirects=False)
    sprite = requests.get(f"{secured.url}/scene/abc_sprite.jpg", timeout=10, allow_redirects=False)

    # Then both are 401 with Stash's form-based challenge and an empty body
    for response in (graphql, sprite):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "FormBased"
        assert response.content == b""


def test_a_wrong_api_key_on_an_image_is_401_not_a_redirect(secured):
    # When an image is asked for with a wrong ApiKey header
    scene_id = secured.add_scene(title="x")
    response = requests.get(
        f"{secured.url}/scene/{scene_id}/screenshot",
        headers={"ApiKey": "wrong"},
        timeout=10,
        allow_redirects=False,
    )

    # Then the key is refused outright, before any redirect decision
    assert response.status_code == 401


def test_without_credentials_configured_images_need_no_login():
    # Given a Stash with no username/password (the default install)
    with StashEmulator() as stash:
        scene_id = stash.add_scene(title="x")

        # When the screenshot and the login page are asked for anonymously
        image = requests.get(f"{stash.url}/scene/{scene_id}/screenshot", timeout=10)
        login = requests.get(
            f"{stash.url}/login?returnURL=/scene/1/screenshot", timeout=10, allow_redirects=False
        )

    # Then the image is served and the login page just sends the client back
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/svg+xml"
    assert (login.status_code, login.headers["Location"]) == (302, "/scene/1/screenshot")


def test_the_redirect_keeps_the_reverse_proxy_prefix(secured):
    # When the request came through a proxy that sets X-Forwarded-Prefix
    response = requests.get(
        f"{secured.url}/scene/1/screenshot",
        headers={"X-Forwarded-Prefix": "/stash"},
        timeout=10,
        allow_redirects=False,
    )

    # Then both the login path and the return URL carry the prefix
    assert (
        response.headers["Location"] == "/stash/login?returnURL=%2Fstash%2Fscene%2F1%2Fscreenshot"
    )


def test_logging_in_sets_a_session_cookie_that_opens_images(secured):
    scene_id = secured.add_scene(title="x")
    with requests.Session() as browser:
        # When the login form is posted with a wrong, then the right password
        wrong = browser.post(
            f"{secured.url}/login", data={"username": "stash", "password": "nope"}, timeout=10
        )
        right = browser.post(
            f"{secured.url}/login", data={"username": "stash", "password": "s3cret"}, timeout=10
        )
        image = browser.get(
            f"{secured.url}/scene/{scene_id}/screenshot", timeout=10, allow_redirects=False
        )

    # Then only the right one logs in, and its cookie opens the image
    assert (wrong.status_code, wrong.text) == (401, "Username or password is invalid\n")
    assert right.status_code == 200
    assert image.status_code == 200


def test_a_plugin_cookie_stops_working_after_max_session_age_on_the_server_clock(secured, tmp_path):
    # Given the session cookie Stash handed to a hook, on a held clock (real seconds that
    # pass on a busy machine must not age the cookie)
    secured.clock.freeze()
    secured.attach_plugin(echo_manifest(tmp_path, "cookies", ["Scene.Update.Post"]))
    scene_id = secured.add_scene(title="x")
    run = secured.update_scene(scene_id, title="y").hook_runs[0]
    cookie = run.stdin["server_connection"]["SessionCookie"]["Value"]

    # When the server clock reaches the maximum age, and then one second more
    secured.clock.advance(3600)
    at_limit = post_version(secured, cookies={"session": cookie})
    secured.clock.advance(1)
    expired = post_version(secured, cookies={"session": cookie})

    # Then the cookie works up to max_session_age seconds and is refused after
    assert at_limit.status_code == 200
    assert expired.status_code == 401


def test_each_request_with_a_valid_cookie_gets_a_refreshed_cookie(secured):
    # Given a cookie about to expire
    cookie = secured.session_cookie
    secured.clock.advance(3500)

    # When it is used once
    response = post_version(secured, cookies={"session": cookie})
    refreshed = response.cookies["session"]
    secured.clock.advance(3500)

    # Then the answer carries a new cookie, valid for another max_session_age from now
    assert "Max-Age=3600" in response.headers["Set-Cookie"]
    assert "SameSite=Lax" in response.headers["Set-Cookie"]
    assert post_version(secured, cookies={"session": cookie}).status_code == 401
    assert post_version(secured, cookies={"session": refreshed}).status_code == 200


def test_an_api_key_request_gets_no_cookie(secured):
    response = post_version(secured, headers={"ApiKey": KEY})

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_expire_sessions_locks_out_every_cookie_handed_out_so_far(secured):
    # Given a cookie, and a knob that expires cookies without moving the clock
    old = secured.session_cookie
    assert post_version(secured, cookies={"session": old}).status_code == 200

    # When sessions are expired
    secured.expire_sessions()
    secured.clock.advance(1)

    # Then the old cookie is refused, a new one works, and the clock-driven data is unchanged
    assert post_version(secured, cookies={"session": old}).status_code == 401
    assert post_version(secured, cookies={"session": secured.session_cookie}).status_code == 200
    assert data(secured, VERSION, headers={"ApiKey": KEY})["version"]["version"]
