"""The latency model (issue 19): per-request, per-KB and upload costs, a concurrency limit,
settable from Python, the admin API and the CLI; off by default; and the throughput bound."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from stashplex.sandbox.plex import LatencySettings, PlexEmulator, RequestShape, max_rate
from stashplex.sandbox.plex.latency import LatencyModel
from tests.support.plex import TOKEN, SmallLibrary, connect, emulator_process


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000.0


def test_latency_is_off_by_default(emulator: PlexEmulator) -> None:
    # Given / When
    settings = emulator.configure_latency()

    # Then
    assert settings == {
        "base_ms": 0.0,
        "per_kb_ms": 0.0,
        "upload_ms": 0.0,
        "concurrency": None,
        "waitedForSlot": 0,
    }


def test_every_request_costs_the_base_latency(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given
    plex = connect(emulator)
    emulator.configure_latency(base_ms=60)

    # When
    elapsed = _timed(lambda: plex.fetchItem(small.alien))
    admin = _timed(lambda: requests.get(emulator.admin_url + "health", timeout=5))

    # Then: Plex requests pay, the admin API does not
    assert elapsed >= 60
    assert admin < 60


def test_the_emulators_own_work_is_part_of_the_service_time_not_added_to_it() -> None:
    # Given: a 200 ms service time, of which the emulator already spent 150 ms answering
    model = LatencyModel(LatencySettings(base_ms=200))

    # When
    with model.slot() as costs:
        rest = _timed(lambda: model.spend(costs, 0.0, False, spent_ms=150.0))
        nothing_left = _timed(lambda: model.spend(costs, 0.0, False, spent_ms=250.0))

    # Then: only the remainder is slept, and an answer slower than the model sleeps nothing
    assert 45 <= rest < 150
    assert nothing_left < 45


def test_large_answers_and_uploads_cost_more(emulator: PlexEmulator, small: SmallLibrary) -> None:
    # Given: 2 ms per KB moved, 150 ms more per poster upload
    plex = connect(emulator)
    movie = plex.fetchItem(small.alien)
    emulator.configure_latency(per_kb_ms=2, upload_ms=150)
    poster = b"\xff\xd8" + b"p" * (50 * 1024)

    # When
    upload = _timed(lambda: movie.uploadPoster(filepath=io.BytesIO(poster)))
    small_read = _timed(lambda: plex.fetchItem(small.drama))

    # Then: the 50 KB upload costs 100 ms for its size plus 150 ms for being an upload
    assert upload >= 250
    assert small_read < 150


def test_requests_beyond_the_concurrency_limit_wait_for_a_slot(
    emulator: PlexEmulator, small: SmallLibrary
) -> None:
    # Given: one slot, 100 ms per request
    emulator.configure_latency(base_ms=100, concurrency=1)
    url = f"{emulator.url}/library/metadata/{small.alien}"

    def fetch() -> int:
        return requests.get(url, headers={"X-Plex-Token": TOKEN}, timeout=10).status_code

    # When: three clients ask at once
    started = time.perf_counter()
    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: fetch(), range(3)))
    elapsed = (time.perf_counter() - started) * 1000.0

    # Then: served one after the other
    assert statuses == [200, 200, 200]
    assert elapsed >= 300
    assert emulator.latency.waited_for_slot >= 2


def test_the_admin_api_sets_latency_and_reports_the_bound(emulator: PlexEmulator) -> None:
    # Given
    admin = emulator.admin_url

    # When
    settings = requests.post(
        admin + "latency", json={"base_ms": 10, "per_kb_ms": 0.5, "concurrency": 4}, timeout=5
    ).json()
    bound = requests.post(
        admin + "latency/max-rate",
        json={"mix": [{"name": "edit", "weight": 1, "kilobytes": 2}]},
        timeout=5,
    ).json()

    # Then: 11 ms per request, 4 at once: at most 4000/11 requests per second
    assert (settings["base_ms"], settings["concurrency"]) == (10, 4)
    assert bound["mean_service_ms"] == pytest.approx(11.0)
    assert bound["requests_per_second"] == pytest.approx(4000 / 11)


def test_the_bound_weighs_the_request_mix() -> None:
    # Given: 5 ms per request, 0.1 ms per KB, 40 ms per upload, 2 slots
    settings = LatencySettings(base_ms=5, per_kb_ms=0.1, upload_ms=40, concurrency=2)
    mix = [
        RequestShape("edit", weight=3, kilobytes=1),
        RequestShape("poster", weight=1, kilobytes=200, upload=True),
    ]

    # When
    bound = max_rate(settings, mix)

    # Then: mean = (3 * 5.1 + 1 * 65) / 4 = 20.075 ms; 2 slots
    assert bound.mean_service_ms == pytest.approx(20.075)
    assert bound.requests_per_second == pytest.approx(2000 / 20.075)
    assert bound.per_connection_per_second == pytest.approx(1000 / 20.075)
    assert max_rate(LatencySettings(base_ms=5), mix).requests_per_second == math.inf


def test_the_cli_starts_a_slow_emulator() -> None:
    # Given
    flags = ["--latency-ms", "25", "--per-kb-ms", "0.5", "--upload-ms", "80", "--concurrency", "2"]

    # When
    with emulator_process(*flags) as (_, banner):
        admin = banner.rsplit("admin API at ", 1)[1].strip()
        settings = requests.get(admin + "latency", timeout=5).json()

    # Then
    assert settings == {
        "base_ms": 25.0,
        "per_kb_ms": 0.5,
        "upload_ms": 80.0,
        "concurrency": 2,
        "waitedForSlot": 0,
    }
