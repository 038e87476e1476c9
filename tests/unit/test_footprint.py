"""What the long-running processes import: a module loaded is memory held for months."""

import json
import subprocess
import sys

HEAVY = ("pydantic", "plexapi", "requests", "pykka", "persistqueue", "asyncio")


def imported_after(statement: str) -> set[str]:
    """Top-level packages loaded (a name set to None in sys.modules blocks a module)."""
    listing = "print(json.dumps([k for k, v in sys.modules.items() if v is not None]))"
    code = f"import json, sys\n{statement}\n{listing}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(done.stdout)}


def test_the_actor_host_loads_neither_plexapi_nor_asyncio_before_it_talks_to_plex():
    # Given a fresh interpreter
    # When it imports the actor host and all five actor classes, as a starting host does
    loaded = imported_after("import stashplex.host.actor_host as m; m.actor_classes()")
    # Then plexapi (the first Plex call loads it) and asyncio (persist-queue's unused async
    # queues) are not among them
    assert "pykka" in loaded and "persistqueue" in loaded
    assert "plexapi" not in loaded
    assert "asyncio" not in loaded


def test_the_plex_error_classes_load_with_the_first_use():
    # Given a fresh interpreter that imports the Plex connection module
    # When it asks for the exceptions a Plex call may raise
    loaded = imported_after(
        "from stashplex.plex import connection\n"
        "assert 'plexapi' not in sys.modules\n"
        "errors = connection.plex_errors()\n"
        "assert connection.PLEX_ERRORS == errors and len(errors) == 5"
    )
    # Then plexapi is loaded only then
    assert "plexapi" in loaded


def test_the_watchdog_imports_no_heavy_package():
    # Given a fresh interpreter
    # When it imports the watchdog's entry module and what its main() imports
    loaded = imported_after(
        "import argparse, stashplex.runtime.watchdog, stashplex.runtime.logs"
    )
    # Then none of the host's packages are loaded (psutil is the only one beyond the stdlib)
    assert not loaded & set(HEAVY)
