"""Each injected fault surfaces as the exception a real broken server would cause."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
import requests
from plexapi.exceptions import BadRequest, Unauthorized

from stashplex.sandbox.plex import PlexEmulator
from tests.support.plex import TOKEN, SmallLibrary, connect
from tests.support.waiting import wait_until

SLOW_SECONDS = 0.3


def test_a_down_server_refuses_connections_and_comes_back_on_the_same_port(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    plex.fetchItem(small.alien)  # leaves a keep-alive connection in the pool
    port = emulator.port

    emulator.faults.down()
    with pytest.raises(requests.exceptions.ConnectionError):
        plex.fetchItem(small.alien)
    with pytest.raises(requests.exceptions.ConnectionError):
        connect(emulator)
    emulator.faults.up()

    assert emulator.port == port
    assert plex.fetchItem(small.alien).title == "Alien"


@pytest.mark.parametrize("status", [500, 503])
def test_an_error_status_raises_bad_request(
    emulator: PlexEmulator, small: SmallLibrary, status: int
) -> None:
    plex = connect(emulator)
    emulator.faults.status(status)

    with pytest.raises(BadRequest, match=f"\\({status}\\)"):
        plex.fetchItem(small.alien)


def test_a_hanging_server_raises_read_timeout_without_blocking_other_requests(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator, timeout=0.5)
    emulator.faults.read_timeout(path_prefix="/library/metadata")

    with pytest.raises(requests.exceptions.ReadTimeout):
        plex.fetchItem(small.alien)
    sections = connect(emulator).library.sections()

    assert [section.key for section in sections] == [small.movies, small.shows]


def test_a_dropped_connection_raises_connection_error(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    emulator.faults.drop_connections()

    with pytest.raises(requests.exceptions.ConnectionError):
        plex.fetchItem(small.alien)


def test_a_revoked_token_raises_unauthorized_everywhere(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    emulator.faults.revoke_token()

    with pytest.raises(Unauthorized):
        plex.fetchItem(small.alien)
    with pytest.raises(Unauthorized):
        plex.library.sections()


def test_a_slow_server_answers_after_the_configured_delay(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given a server that delays every response by 0.3 s
    plex = connect(emulator, timeout=5)
    emulator.faults.slow(SLOW_SECONDS)

    # When an item is fetched
    started = time.monotonic()
    title = plex.fetchItem(small.alien).title
    elapsed = time.monotonic() - started

    # Then it arrives intact, but only after the delay
    assert title == "Alien"
    assert elapsed >= SLOW_SECONDS
    assert emulator.faults.describe()["rules"][0]["kind"] == "slow"


def _down_and_up(emulator: PlexEmulator) -> None:
    emulator.faults.down()
    emulator.faults.up()


def _stop_and_start(emulator: PlexEmulator) -> None:
    emulator.stop()
    emulator.start()


@pytest.mark.parametrize("cycle", [_down_and_up, _stop_and_start], ids=["down-up", "stop-start"])
def test_slow_and_read_timeout_rules_set_before_an_outage_still_apply_after_it(
    emulator: PlexEmulator, small: SmallLibrary, cycle: Callable[[PlexEmulator], None]
) -> None:
    # Given a slow rule everywhere and a read-timeout rule on items, set before an outage
    emulator.faults.slow(SLOW_SECONDS)
    emulator.faults.read_timeout(path_prefix="/library/metadata")
    cycle(emulator)

    # When the server is asked again once it is back
    started = time.monotonic()
    plex = connect(emulator, timeout=1.0)
    connect_elapsed = time.monotonic() - started

    # Then the answer is still delayed and an item request still hangs until the client gives up
    assert connect_elapsed >= SLOW_SECONDS
    with pytest.raises(requests.exceptions.ReadTimeout):
        plex.fetchItem(small.alien)


def test_flaky_faults_are_reproducible_from_their_seed(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    def outcomes() -> list[bool]:
        plex = connect(emulator)
        emulator.faults.flaky(0.3, seed=42)
        results = []
        for _ in range(40):
            try:
                plex.fetchItem(small.alien)
                results.append(True)
            except BadRequest:
                results.append(False)
        emulator.faults.clear()
        return results

    first, second = outcomes(), outcomes()

    assert first == second
    assert 0 < first.count(False) < 40


def test_a_fault_limited_by_times_stops_after_that_many_requests(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    plex = connect(emulator)
    emulator.faults.status(503, times=2)

    failures = 0
    for _ in range(2):
        with pytest.raises(BadRequest):
            plex.fetchItem(small.alien)
        failures += 1

    assert plex.fetchItem(small.alien).title == "Alien"
    assert failures == 2
    assert emulator.requests.count("GET", template="/library/metadata/{id}") == 3


def test_clear_releases_a_hanging_request(emulator: PlexEmulator, small: SmallLibrary) -> None:
    emulator.faults.read_timeout(seconds=60)
    outcome: list[str] = []

    def slow_client() -> None:
        try:
            requests.get(emulator.url + "/library", headers={"X-Plex-Token": TOKEN}, timeout=30)
            outcome.append("answered")
        except requests.exceptions.ConnectionError:
            outcome.append("closed")

    client = threading.Thread(target=slow_client)
    client.start()
    wait_until(lambda: emulator.requests.count() == 1, message="the request to arrive")
    emulator.faults.clear()
    client.join(timeout=20)

    assert outcome == ["closed"]


def test_the_admin_api_switches_faults_without_a_token_and_is_not_logged() -> None:
    with PlexEmulator(token=TOKEN, admin_port=0) as emulator:
        admin = emulator.admin_url
        down = requests.post(admin + "faults", data=json.dumps({"mode": "down"}), timeout=5)
        refused = _refused(emulator.url + "/identity")
        up = requests.post(admin + "faults", data=json.dumps({"mode": "up"}), timeout=5)
        requests.post(admin + "faults", json={"mode": "status", "code": 500}, timeout=5)
        failing = requests.get(emulator.url + "/identity", timeout=5).status_code
        requests.post(admin + "faults", json={"mode": "clear"}, timeout=5)
        log = requests.get(admin + "requests", timeout=5).json()
        bad = requests.post(admin + "faults", json={"mode": "explode"}, timeout=5)

    assert down.json()["down"] is True
    assert refused
    assert up.json()["down"] is False
    assert failing == 500
    assert log["count"] == 1
    assert log["entries"][0]["path"] == "/identity"
    assert bad.status_code == 400


def test_the_admin_api_on_the_main_port_needs_no_token(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    emulator.faults.revoke_token()

    item = requests.get(f"{emulator.url}/__emulator/items/{small.alien}", timeout=5)
    reset = requests.post(f"{emulator.url}/__emulator/reset-log", timeout=5)

    assert item.json()["fields"]["title"] == "Alien"
    assert reset.json() == {"ok": True}
    assert emulator.requests.count() == 0


def _refused(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
    except requests.exceptions.ConnectionError:
        return True
    return False


def test_bad_fault_settings_are_rejected(emulator: PlexEmulator) -> None:
    with pytest.raises(ValueError, match="standard"):
        emulator.faults.status(599)
    with pytest.raises(ValueError, match="rate"):
        emulator.faults.flaky(1.5)
