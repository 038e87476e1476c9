"""A refusal of changed settings that Intake reports while the actor host is still starting.

Intake takes its first messages (a hook spooled while no host ran) before the host has said it
is ready; the host's start must not then clear what Intake just found wrong with the settings.
"""

from __future__ import annotations

from stashplex.config.settings import SettingsError
from stashplex.config.watch import SettingsWatch
from stashplex.link import handoff
from stashplex.runtime.problems import SETTINGS, ProblemLog
from tests.support.waiting import wait_until
from tests.support.world import SyncWorld

REFUSAL = (
    "invalid settings: plex_url (from Stash plugin settings): must start with http:// or https://"
)


def refused_sources() -> tuple:
    raise SettingsError(REFUSAL)


def test_a_refusal_reported_while_the_host_starts_is_still_recorded_once_it_is_ready(tmp_path):
    # Given settings whose sources now refuse a change, and a save spooled while no host ran
    world = SyncWorld(tmp_path, scenes=1)
    try:
        root = world.data.ensure().root
        handoff.write_spool(root, {"trigger": "Scene.Update.Post", "scene_id": "1",
                                   "input_fields": ["title"]})  # fmt: skip
        running = world.settings()
        watch = SettingsWatch(
            running, from_stash=True, load=refused_sources, problems=ProblemLog(root)
        )
        watch.poke()  # the spooled save's poke (behind the front door, its spool file is one)
        # When the host starts, drains the save, and Intake looks at the settings before taking it
        world.start(settings=running, services={"settings_watch": watch})
        wait_until(lambda: world.host is not None and world.host.started.is_set(),
                   message="the host ready")  # fmt: skip
        # Then, once the host said it is ready, the refusal is recorded for the next save to show
        wait_until(lambda: ProblemLog(root).active().get(SETTINGS), timeout=10,
                   message="the refusal recorded")  # fmt: skip
        recorded = ProblemLog(root).active()[SETTINGS].message
        assert REFUSAL.removeprefix("invalid settings: ") in recorded
    finally:
        world.close()
