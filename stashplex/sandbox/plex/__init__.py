"""A loopback Plex Media Server emulator that the real plexapi talks to, with fault injection.

Run it with `python -m stashplex.sandbox.plex --port 32400 --token TOKEN --items N --seed S`,
or in-process with `PlexEmulator`.
"""

from stashplex.sandbox.plex.emulator import PlexEmulator
from stashplex.sandbox.plex.faults import Faults
from stashplex.sandbox.plex.requestlog import RequestLog, RequestRecord
from stashplex.sandbox.plex.seed import SeededItem

__all__ = ["Faults", "PlexEmulator", "RequestLog", "RequestRecord", "SeededItem"]
