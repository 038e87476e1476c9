"""HTTP behaviour: Stash's auth modes, images, status codes, faults and request counting."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import requests

from stashplex.sandbox.stash import StashEmulator
from stashplex.sandbox.stash.images import DEFAULT_IMAGES, solid_png
from tests.support.stash_schema import assert_query_valid

VERSION = "query Probe { version { version } }"
KEY = "k3y-for-tests"


def post(url: str, query: str = VERSION, **kwargs: object) -> requests.Response:
    assert_query_valid(query)
    return requests.post(url, json={"query": query}, timeout=30, **kwargs)


@pytest.fixture
def secured():
    with StashEmulator(api_key=KEY) as emulator:
        yield emulator


def test_without_credentials_configured_every_request_is_open():
    with StashEmulator() as stash:
        assert post(stash.graphql_url).status_code == 200


def test_a_wrong_api_key_is_401_even_when_no_key_is_configured():
    with StashEmulator() as stash:
        response = post(stash.graphql_url, headers={"ApiKey": "wrong"})

        assert response.status_code == 401


def test_missing_credentials_get_401_with_an_empty_body_and_form_based_challenge(secured):
    response = post(secured.graphql_url)

    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == "FormBased"


@pytest.mark.parametrize("how", ["header", "query", "cookie"])
def test_each_of_stashs_credential_forms_is_accepted(secured, how):
    url, headers, cookies = secured.graphql_url, {}, {}
    if how == "header":
        headers["ApiKey"] = KEY
    elif how == "query":
        url += f"?apikey={KEY}"
    else:
        cookies["session"] = secured.session_cookie

    response = post(url, headers=headers, cookies=cookies)

    assert response.status_code == 200
    assert response.json()["data"]["version"]["version"]


def test_a_wrong_api_key_is_rejected(secured):
    assert post(secured.graphql_url, headers={"ApiKey": "nope"}).status_code == 401
    assert post(secured.graphql_url + "?apikey=nope").status_code == 401


def test_a_forged_session_cookie_is_rejected(secured):
    response = post(secured.graphql_url, cookies={"session": "forged.cookie"})

    assert response.status_code == 401


def test_healthz_is_open_even_with_auth(secured):
    response = requests.get(f"{secured.url}/healthz", timeout=10)

    assert response.status_code == 200
    assert response.text == "."


def test_a_syntax_error_is_http_422_with_errors(secured):
    response = requests.post(
        secured.graphql_url, json={"query": "{ version { "}, headers={"ApiKey": KEY}, timeout=10
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith("Syntax Error")


def test_an_unknown_field_is_http_422(secured):
    response = requests.post(
        secured.graphql_url,
        json={"query": "{ findScene(id: 1) { nope } }"},
        headers={"ApiKey": KEY},
        timeout=10,
    )

    assert response.status_code == 422
    assert "nope" in response.json()["errors"][0]["message"]


def test_graphql_over_get_answers_queries(secured):
    response = requests.get(
        secured.graphql_url, params={"query": VERSION, "apikey": KEY}, timeout=10
    )

    assert response.status_code == 200
    assert response.json()["data"]["version"]["version"]


def test_images_need_auth_and_a_scene_without_cover_gets_the_default_image(secured):
    # Given a secured Stash and a scene without a cover
    scene_id = secured.add_scene(title="no cover")
    url = f"{secured.url}/scene/{scene_id}/screenshot"

    # When the screenshot is asked for without and with the API key
    anonymous = requests.get(url, timeout=10, allow_redirects=False)
    authorised = requests.get(url, headers={"ApiKey": KEY}, timeout=10)

    # Then the anonymous request is sent to the login page, and the key gets Stash's default SVG
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?returnURL=")
    assert authorised.status_code == 200
    assert authorised.content == DEFAULT_IMAGES["scene"]
    assert authorised.headers["Content-Type"] == "image/svg+xml"


def test_a_stored_cover_and_portrait_are_served(secured):
    cover, portrait = solid_png((200, 0, 0)), solid_png((0, 200, 0))
    scene_id = secured.add_scene(title="covered", cover=cover)
    performer_id = secured.add_performer("P", image=portrait)
    studio_id = secured.add_studio("S")

    scene = requests.get(
        f"{secured.url}/scene/{scene_id}/screenshot?t=1", headers={"ApiKey": KEY}, timeout=10
    )
    performer = requests.get(
        f"{secured.url}/performer/{performer_id}/image", headers={"ApiKey": KEY}, timeout=10
    )
    studio = requests.get(
        f"{secured.url}/studio/{studio_id}/image", headers={"ApiKey": KEY}, timeout=10
    )

    assert scene.content == cover
    assert performer.content == portrait
    assert studio.content == DEFAULT_IMAGES["studio"]


def test_an_image_of_a_missing_scene_is_404(secured):
    response = requests.get(
        f"{secured.url}/scene/999/screenshot", headers={"ApiKey": KEY}, timeout=10
    )

    assert response.status_code == 404


def test_urls_are_built_from_the_host_header(secured):
    scene_id = secured.add_scene(title="x")
    query = "query ($id: ID) { findScene(id: $id) { paths { screenshot stream } } }"
    assert_query_valid(query)

    response = requests.post(
        secured.graphql_url,
        json={"query": query, "variables": {"id": scene_id}},
        headers={"ApiKey": KEY, "Host": "stash.local:9999"},
        timeout=10,
    )

    paths = response.json()["data"]["findScene"]["paths"]
    assert paths["screenshot"].startswith(f"http://stash.local:9999/scene/{scene_id}/screenshot?t=")
    assert paths["stream"] == f"http://stash.local:9999/scene/{scene_id}/stream?apikey={KEY}"


def test_down_closes_the_port_and_up_reopens_it_on_the_same_port():
    with StashEmulator() as stash:
        port = stash.port

        stash.faults.down()
        with pytest.raises(requests.ConnectionError):
            post(stash.graphql_url)
        stash.faults.up()

        assert stash.port == port
        assert post(stash.graphql_url).status_code == 200


def test_down_also_cuts_an_open_keep_alive_connection():
    with StashEmulator() as stash, requests.Session() as session:
        assert session.post(stash.graphql_url, json={"query": VERSION}, timeout=10).ok

        stash.faults.down()

        with pytest.raises(requests.ConnectionError):
            session.post(stash.graphql_url, json={"query": VERSION}, timeout=10)
        stash.faults.up()


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_malformed_content_length_is_answered_400_instead_of_crashing_the_handler(length):
    # Given a raw request whose Content-Length is not a byte count
    with StashEmulator() as stash:
        raw = (
            f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{stash.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{}}"
        ).encode()

        # When it is sent
        with socket.create_connection(("127.0.0.1", stash.port), timeout=10) as client:
            client.sendall(raw)
            answer = _read_until_closed(client)
        healthy = requests.get(f"{stash.url}/healthz", timeout=10).status_code

    # Then the emulator answers 400 naming the header, closes, and keeps serving others
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    assert f"invalid Content-Length: {length!r}".encode() in rest
    assert b"connection: close" in rest.lower()
    assert healthy == 200


def _read_until_closed(client: socket.socket) -> bytes:
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_graphql_error_mode_answers_every_query_with_an_error_entry():
    with StashEmulator() as stash:
        stash.faults.graphql_errors()

        broken = post(stash.graphql_url).json()
        stash.faults.clear()
        healed = post(stash.graphql_url).json()

        assert broken["errors"] and broken["data"] is None
        assert "errors" not in healed


def test_slow_mode_makes_a_client_with_a_short_timeout_give_up_until_cleared():
    with StashEmulator() as stash:
        stash.faults.slow(2.0)
        with pytest.raises(requests.Timeout):
            requests.post(stash.graphql_url, json={"query": VERSION}, timeout=0.2)

        stash.faults.clear()

        assert requests.post(stash.graphql_url, json={"query": VERSION}, timeout=10).ok


def test_requests_are_counted_per_route_root_field_and_operation():
    with StashEmulator() as stash:
        scene_id = stash.add_scene(title="x")
        post(stash.graphql_url)
        post(stash.graphql_url, "query Both { version { hash } findScenes { count } }")
        requests.get(f"{stash.url}/scene/{scene_id}/screenshot", timeout=10)
        requests.get(f"{stash.url}/healthz", timeout=10)

        assert stash.requests.count() == 4
        assert stash.requests.count(route="/graphql") == 2
        assert stash.requests.count(route="/scene/{id}/screenshot") == 1
        assert stash.requests.count(root_field="version") == 2
        assert stash.requests.count(root_field="findScenes") == 1
        assert stash.requests.count(operation="Probe") == 1


def test_the_emulator_refuses_a_non_loopback_address():
    with pytest.raises(ValueError, match="loopback"):
        StashEmulator(host="10.0.0.1")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_module_starts_a_seeded_server_with_one_command():
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stashplex.sandbox.stash",
            "--port",
            str(port),
            "--api-key",
            KEY,
            "--scenes",
            "50",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        response = post(
            f"http://127.0.0.1:{port}/graphql", "{ findScenes { count } }", headers={"ApiKey": KEY}
        )

        assert "Stash emulator" in banner
        assert response.json()["data"]["findScenes"]["count"] == 50
    finally:
        process.terminate()
        process.wait(timeout=10)
