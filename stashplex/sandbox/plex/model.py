"""The emulated server's state as plain dataclasses.

Plain slotted dataclasses and dicts keep seeding 100,000 items in the range of seconds; nothing
here knows about HTTP or XML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MOVIE = "movie"
SHOW = "show"
SEASON = "season"
EPISODE = "episode"

SEARCH_TYPES: dict[str, int] = {MOVIE: 1, SHOW: 2, SEASON: 3, EPISODE: 4}
TYPE_NAMES: dict[int, str] = {number: name for name, number in SEARCH_TYPES.items()}

# Edit key prefix -> XML element. Plex calls actors "actor" in edits but renders them as <Role>.
TAG_ELEMENTS: dict[str, str] = {
    "genre": "Genre",
    "director": "Director",
    "writer": "Writer",
    "producer": "Producer",
    "country": "Country",
    "collection": "Collection",
    "label": "Label",
    "actor": "Role",
}
# Tag types an agent refresh rewrites when unlocked; collections and labels are the user's own.
AGENT_TAG_TYPES: frozenset[str] = frozenset(
    {"genre", "director", "writer", "producer", "country", "actor"}
)
# Fields the agent owns: an unlocked user value reverts to the agent's on refresh.
AGENT_FIELDS: tuple[str, ...] = (
    "title",
    "titleSort",
    "summary",
    "tagline",
    "studio",
    "originallyAvailableAt",
    "year",
    "contentRating",
    "originalTitle",
    "rating",
    "audienceRating",
)
USER_FIELDS: tuple[str, ...] = ("userRating", "editionTitle", "addedAt")
EDITABLE_FIELDS: frozenset[str] = frozenset(AGENT_FIELDS + USER_FIELDS)
IMAGE_FIELDS: frozenset[str] = frozenset({"thumb", "art", "theme", "clearLogo"})
LOCKABLE_FIELDS: frozenset[str] = EDITABLE_FIELDS | IMAGE_FIELDS | frozenset(TAG_ELEMENTS)
SECTION_AGENTS: dict[str, tuple[str, str]] = {
    MOVIE: ("tv.plex.agents.movie", "Plex Movie"),
    SHOW: ("tv.plex.agents.series", "Plex TV Series"),
}


@dataclass(slots=True)
class Tag:
    """One tag association; role and thumb only matter for actors."""

    tag: str
    role: str | None = None
    thumb: str | None = None
    tag_key: str | None = None


@dataclass(slots=True)
class Image:
    """A poster or art candidate; uploaded ones keep their bytes so they can be served back."""

    rating_key: str
    url: str
    provider: str | None = None
    sha1: str | None = None
    data: bytes | None = None


@dataclass(slots=True)
class Part:
    """One media file of an item.

    Parts with the same `media_id` are one Media (a stacked `-pt1`/`-pt2` movie); another
    `media_id` is another version of the item (merged versions). Several episodes may each
    hold a Part of the same file (a multi-episode file, `S01E01-E02`).
    """

    id: int
    media_id: int
    file: str
    size: int
    duration_ms: int
    container: str


@dataclass(slots=True)
class Section:
    """A library section; `locations` decide which disk files a scan may add to it."""

    key: int
    title: str
    type: str
    locations: list[str]
    uuid: str
    created_at: int
    updated_at: int
    scanned_at: int


@dataclass(slots=True)
class Item:
    """A movie, show, season or episode.

    `agent_fields`/`agent_tags` remember what the metadata agent supplied, so a refresh can put
    unlocked fields back exactly as a real server does.

    `listing_cache` holds this item's rendered listing rows. Rows also print other items' values
    (an episode its season's and show's titles, a show and season their episode counts), so
    `dependents` lists the rows that print this item's attributes: editing it forgets them too,
    and the library forgets an ancestor's rows when it gains a child.
    """

    rating_key: int
    section_key: int
    type: str
    fields: dict[str, str]
    agent_fields: dict[str, str]
    tags: dict[str, list[Tag]]
    agent_tags: dict[str, list[Tag]]
    added_at: int
    updated_at: int
    guid: str
    external_guids: list[str] = field(default_factory=list)
    locks: set[str] = field(default_factory=set)
    parts: list[Part] = field(default_factory=list)
    duration_ms: int | None = None
    parent_key: int | None = None
    grandparent_key: int | None = None
    index: int | None = None
    folder: str | None = None
    posters: list[Image] = field(default_factory=list)
    arts: list[Image] = field(default_factory=list)
    selected_poster: str | None = None
    selected_art: str | None = None
    agent_poster: str | None = None
    agent_art: str | None = None
    thumb_epoch: int = 0
    art_epoch: int = 0
    listing_cache: dict[bool, str] = field(default_factory=dict)
    # A show's seasons and episodes, a season's episodes. Not compared or printed: a show's
    # dataclass repr would otherwise spell out its whole tree.
    dependents: list[Item] = field(default_factory=list, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.fields.get("title", "")

    @property
    def sort_title(self) -> str:
        return self.fields.get("titleSort") or self.fields.get("title", "")

    def touch(self, now: int) -> None:
        """Bump updatedAt strictly, so a client comparing epochs sees every edit."""
        self.updated_at = max(now, self.updated_at + 1)
        self.forget_rows()

    def forget_rows(self) -> None:
        """Drop the cached rows of this item and of every row that prints its attributes.

        Cheap (dict clears, no rendering), so it runs on every edit; the next listing re-renders
        only the rows it dropped.
        """
        self.listing_cache.clear()
        for dependent in self.dependents:
            dependent.listing_cache.clear()


@dataclass(slots=True)
class DiskFile:
    """A file the emulator pretends exists on the server's disk, waiting for a scan."""

    file: str
    section_key: int
    title: str
    size: int
    duration_ms: int
    show_title: str | None = None
    season: int | None = None
    episode: int | None = None
    year: int | None = None
    #: A multi-episode file (`S01E01-E03`) holds episodes `episode`..`last_episode`.
    last_episode: int | None = None
    #: The path this file had before `move_on_disk`, so the scan can tell a move from a new file.
    moved_from: str | None = None


@dataclass(slots=True)
class Scan:
    """A running (delayed) section scan, visible as an Activity while it waits."""

    uuid: str
    section_key: int
    path: str | None
    force: bool
    started_at: float


class PlexError(Exception):
    """A request the emulated server refuses; carries the HTTP status Plex would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
