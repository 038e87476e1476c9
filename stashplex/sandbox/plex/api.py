"""The emulator's Python API for staging a library: what is on the server and on its disk.

`PlexEmulator` (emulator.py) adds the HTTP side; tests, the demo and benchmarks stage through
these methods, or through the admin API that maps onto them (admin.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from stashplex.sandbox.plex import adding, files
from stashplex.sandbox.plex.adding import ActorSpec
from stashplex.sandbox.plex.library import Library
from stashplex.sandbox.plex.model import Item
from stashplex.sandbox.plex.realism import Realism
from stashplex.sandbox.plex.scans import Scanner, ScanReport
from stashplex.sandbox.plex.seed import SeededItem, seed_library
from stashplex.sandbox.plex.snapshot import item_snapshot


class EmulatorApi:
    """Library and disk staging; every call takes the library lock, so it is safe mid-request."""

    def __init__(self, clock: Callable[[], float], scan_delay: float, realism: Realism) -> None:
        realism.validate()
        self.realism = realism
        self.library = Library(clock, realism)
        self.scanner = Scanner(self.library, scan_delay)

    # -- habits -------------------------------------------------------------------------------

    def configure_realism(self, **knobs: object) -> dict[str, object]:
        """Switch habits by name (see `Realism`); returns every knob's value."""
        with self.library.lock:
            switching = "windows" in knobs and knobs["windows"] != self.realism.windows
            if switching and self.library.sections:
                raise ValueError("switch the windows habit before adding sections")
            respelling = (
                "tag_spelling" in knobs and knobs["tag_spelling"] != self.realism.tag_spelling
            )
            if respelling and self.library.items:
                raise ValueError("switch the tag_spelling habit before adding items")
            self.realism.update(**knobs)
            for item in self.library.items.values():
                item.listing_cache.clear()
            return self.realism.describe()

    # -- library ------------------------------------------------------------------------------

    def add_section(self, title: str, type: str, locations: Sequence[str]) -> int:
        """Add a movie or show section; returns its key."""
        return self.library.add_section(title, type, locations)

    def add_movie(
        self,
        section: int,
        file: str,
        title: str | None = None,
        *,
        size: int = 1_000_000,
        duration_ms: int = 5_400_000,
        added_at: int | None = None,
        genres: Iterable[str] = (),
        actors: Iterable[ActorSpec] = (),
        directors: Iterable[str] = (),
        writers: Iterable[str] = (),
        collections: Iterable[str] = (),
        labels: Iterable[str] = (),
        **fields: str | int | float | None,
    ) -> int:
        """Add a matched movie; the values given are what the agent supplied. Returns ratingKey.

        Extra keyword fields use Plex names (summary, studio, year, originallyAvailableAt,
        tagline, contentRating, titleSort, ...); also producers=, countries=, guids=.
        """
        return adding.add_movie(
            self.library,
            section,
            file,
            title=title,
            size=size,
            duration_ms=duration_ms,
            added_at=added_at,
            genres=genres,
            actors=actors,
            directors=directors,
            writers=writers,
            collections=collections,
            labels=labels,
            **fields,
        )

    def add_episode(
        self,
        section: int,
        file: str,
        *,
        show_title: str,
        season: int,
        episode: int,
        title: str | None = None,
        size: int = 500_000,
        duration_ms: int = 1_800_000,
        added_at: int | None = None,
        **fields: str | int | float | None,
    ) -> int:
        """Add an episode (and its show and season when new). Returns the episode's ratingKey."""
        [rating_key] = adding.add_episodes(
            self.library,
            section,
            file,
            show_title=show_title,
            season=season,
            episodes=[episode],
            titles=[title],
            size=size,
            duration_ms=duration_ms,
            added_at=added_at,
            **fields,
        )
        return rating_key

    def add_multi_episode(
        self,
        section: int,
        file: str,
        *,
        show_title: str,
        season: int,
        episodes: Sequence[int],
        titles: Sequence[str | None] = (),
        size: int = 500_000,
        duration_ms: int = 1_800_000,
        added_at: int | None = None,
    ) -> list[int]:
        """One file holding several episodes (`S01E01-E02`): each episode is its own item with
        its own Part of the same file. Returns the episodes' ratingKeys in order."""
        return adding.add_episodes(
            self.library,
            section,
            file,
            show_title=show_title,
            season=season,
            episodes=episodes,
            titles=titles,
            size=size,
            duration_ms=duration_ms,
            added_at=added_at,
        )

    def add_file(
        self,
        rating_key: int,
        file: str,
        *,
        size: int = 1_000_000,
        duration_ms: int = 2_700_000,
        version: bool = False,
    ) -> int:
        """Another file for an item: a stacked part (`- pt2`) of its first Media, or with
        `version=True` a Media of its own (merged versions). Returns the Part id."""
        return adding.add_file(
            self.library, rating_key, file, size=size, duration_ms=duration_ms, version=version
        )

    def remove_item(self, rating_key: int, *, file_stays: bool = False) -> list[str]:
        """Delete an item (404 on its key from now on). With `file_stays` its files stay on
        disk, so the next scan adds them again as a new item with a new ratingKey."""
        with self.library.lock:
            parts = {p.file: p for i in self._subtree(rating_key) for p in i.parts}
            freed = files.remove_item(self.library, rating_key)
            for file in freed if file_stays else ():
                if not self.library.files_of(file):  # a multi-episode file may still be held
                    part = parts[file]
                    self.scanner.put_on_disk(file, size=part.size, duration_ms=part.duration_ms)
            return freed

    def _subtree(self, rating_key: int) -> list[Item]:
        item = self.library.item(rating_key)
        below = self.library.children.get(rating_key, [])
        return [item, *(leaf for key in below for leaf in self._subtree(key))]

    def seed(
        self, n_items: int, seed: int = 0, sections: Sequence[int] | None = None
    ) -> list[SeededItem]:
        """Add `n_items` deterministic items (see `seed.seed_library`)."""
        return seed_library(self.library, n_items, seed, sections)

    # -- disk and scans -----------------------------------------------------------------------

    def put_on_disk(
        self,
        file: str,
        title: str | None = None,
        *,
        size: int = 1_000_000,
        duration_ms: int = 5_400_000,
        show_title: str | None = None,
        season: int | None = None,
        episode: int | None = None,
    ) -> int:
        """Make a file exist for the next scan of its section (found by Location). Returns it."""
        return self.scanner.put_on_disk(
            file,
            title,
            size=size,
            duration_ms=duration_ms,
            show_title=show_title,
            season=season,
            episode=episode,
        )

    def move_on_disk(self, old_path: str, new_path: str) -> int:
        """Move a file on disk. The next scan covering `new_path` keeps the item (ratingKey and
        addedAt) and changes its Part@file; into another section it becomes a new item there and
        the old one goes at the old section's next scan. Returns `new_path`'s section."""
        return self.scanner.move_on_disk(old_path, new_path)

    def delete_from_disk(self, path: str) -> None:
        """Delete a file; the next scan covering it removes its item(s)."""
        self.scanner.delete_from_disk(path)

    def add_plexignore(self, folder: str, patterns: str | Iterable[str]) -> list[str]:
        """Write a `.plexignore` (text or lines) into `folder`; returns the patterns in force."""
        return self.scanner.add_plexignore(folder, patterns)

    def scan_now(
        self, section: int | None = None, path: str | None = None, force: bool = False
    ) -> list[ScanReport]:
        """Scan synchronously (every section when `section` is None); what each scan did."""
        return self.scanner.scan_now(section, path, force)

    def scan_reports(self) -> list[dict[str, object]]:
        """What the last (up to 100) finished scans did, oldest first."""
        with self.library.lock:
            return [report.as_json() for report in self.scanner.reports]

    def skipped(self) -> dict[str, str]:
        """Files the scanner saw and did not add, with the reason ("scan finished, not added")."""
        with self.library.lock:
            return dict(self.scanner.skipped)

    # -- reading state ------------------------------------------------------------------------

    def item(self, rating_key: int) -> dict[str, object]:
        """A snapshot of the stored state of one item (KeyError if unknown)."""
        with self.library.lock:
            found = self.library.items.get(rating_key)
            if found is None:
                raise KeyError(f"no item with ratingKey {rating_key}")
            return item_snapshot(self.library, found)

    def find_by_file(self, path: str) -> int | None:
        """The (first) item holding `path`, compared as the server compares paths."""
        with self.library.lock:
            holders = self.library.files_of(path)
            return holders[0] if holders else None

    def items_of_file(self, path: str) -> list[int]:
        """Every item holding `path` (several for a multi-episode file)."""
        with self.library.lock:
            return self.library.files_of(path)

    def tag_rows(self) -> dict[str, list[str]]:
        """The server's tag rows by type, in the spelling it reports."""
        return self.library.tags.rows()
