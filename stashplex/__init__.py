"""Stash -> Plex metadata sync."""
