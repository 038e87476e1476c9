"""Faithful loopback emulators of Plex and Stash, used by tests, benchmarks and the demo.

They ship in the package so `stashplex demo` works on a machine with neither server.
"""
