"""A loopback Plex Media Server emulator that the real plexapi talks to, with fault injection,
a real server's habits (`Realism`, all on by default) and a latency model (off by default).

Run it with `python -m stashplex.sandbox.plex --port 32400 --token TOKEN --items N --seed S`,
or in-process with `PlexEmulator`.
"""

from stashplex.sandbox.plex.emulator import PlexEmulator
from stashplex.sandbox.plex.faults import Faults
from stashplex.sandbox.plex.latency import LatencySettings, RateBound, RequestShape, max_rate
from stashplex.sandbox.plex.realism import Realism
from stashplex.sandbox.plex.requestlog import RequestLog, RequestRecord
from stashplex.sandbox.plex.scans import ScanReport
from stashplex.sandbox.plex.seed import SeededItem

__all__ = [
    "Faults",
    "LatencySettings",
    "PlexEmulator",
    "RateBound",
    "Realism",
    "RequestLog",
    "RequestRecord",
    "RequestShape",
    "ScanReport",
    "SeededItem",
    "max_rate",
]
