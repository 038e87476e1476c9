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
    # And requests came without a character-set guesser (charset_normalizer, chardet)
    assert "requests" in loaded
    assert not loaded & {"charset_normalizer", "chardet"}


def test_without_a_charset_guesser_an_answer_naming_no_charset_is_read_as_utf_8_in_silence():
    # Given a fresh interpreter that imports the runtime, then requests, warnings shown
    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "import stashplex.runtime, requests\n"
        "answer = requests.models.Response()\n"
        "answer._content = 'Café, 映画'.encode()\n"
        "print(answer.text)"
    )
    # When it reads the text of an answer whose content type names no charset
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Then the text is the UTF-8 it was, and requests warned of nothing
    assert done.stdout.strip() == "Café, 映画"
    assert done.stderr == ""


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
        "import argparse, stashplex.runtime.watchdog, stashplex.runtime.logs\n"
        "import stashplex.link.frontdoor, stashplex.link.spool"
    )
    # Then none of the host's packages are loaded (psutil is the only one beyond the stdlib),
    # nor dataclasses, whose inspect and ast cost the watchdog 1.1 MB for as long as it runs
    assert not loaded & set(HEAVY)
    assert not loaded & {"dataclasses", "inspect", "ast"}
