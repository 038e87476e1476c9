"""A save right after the supervisor was stopped on purpose starts it again.

Hooks start no supervisor within ``SPAWN_COOLDOWN_SECONDS`` of the last start, so that a scan's
burst of hooks starts one. A stopped supervisor ends that cooldown, or a save made just after a
stop would stay in the spool with nothing coming for it until some later save.
"""

from __future__ import annotations

import time

from stashplex.plugin.hook import SPAWN_COOLDOWN_SECONDS
from tests.support.processes import answering
from tests.support.stash_plugin import StashWithPlugin
from tests.support.waiting import wait_until


def test_a_save_right_after_a_stop_starts_the_supervisor_and_its_edit_reaches_plex(tmp_path):
    # Given a supervisor that a save's hook started a moment ago
    stash = StashWithPlugin(tmp_path, scenes=1)
    try:
        started_at = time.monotonic()
        stash.save()
        wait_until(lambda: answering(stash.data), timeout=60, message="the supervisor up")
        # When it is stopped on purpose, and a save follows within the hooks' start cooldown
        stash.stop_supervisor()
        lines = stash.save()
        assert time.monotonic() - started_at < SPAWN_COOLDOWN_SECONDS + 5
        # Then that save's hook starts a supervisor, which syncs the edit to Plex
        assert any("starting the supervisor" in line.message for line in lines), lines

        def titles() -> set[str]:
            items = stash.world.plex_items_of(stash.scene_id)
            return {item["fields"].get("title") for item in items}

        wait_until(
            lambda: titles() == {"Edit 2"},
            timeout=60,
            message=lambda: f"the second edit in Plex (titles there: {titles()})",
        )
    finally:
        stash.close()
