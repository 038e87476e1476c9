"""A deterministic library of the awkward kind real users have.

Same seed, same library: studios (some with a parent), performers, tags, groups; scenes with several
files, partial dates, no title, no cover, Unicode (combining marks, CJK, emoji), very long text;
paths as Stash in Docker sees them (`/data/...`), including two files with the same basename in
different folders so that basename-only matching is caught out.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, tzinfo

from stashplex.sandbox.stash.clock import format_rfc3339
from stashplex.sandbox.stash.images import solid_png
from stashplex.sandbox.stash.records import (
    FileRecord,
    GroupRecord,
    PerformerRecord,
    SceneGroupLink,
    SceneRecord,
    StudioRecord,
    TagRecord,
)
from stashplex.sandbox.stash.store import StashStore

MAX_SEED_SCENES = 100_000
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
TOP_FOLDERS = ("Movies", "Clips", "Scènes 日本")
WORDS = (
    "Midnight",
    "Harbour",
    "Velvet",
    "Summer",
    "Echo",
    "Neon",
    "Garden",
    "Session",
    "Drift",
    "Amber",
    "Coastline",
    "Library",
    "Rooftop",
    "Signal",
    "Winter",
    "Cascade",
    "Orchard",
    "Parade",
)
UNICODE_TITLES = (
    "Ame\u0301lie a\u0300 Paris",  # NFD: combining accents, the form macOS file systems produce
    "東京の夜 第二章",
    "Fire & Ice 🔥🧊 <Live>",
    'Zoë\'s "Quoted" Night',
    "Ångström — Ωmega",
    "서울 야경",
)
PERFORMER_NAMES = (
    "Alex Rivera",
    "Sam Lee",
    "Jo March",
    "Mika Tanaka",
    "Renée Dubois",
    "Chris Novak",
    "Dana Scully",
    "王芳",
    "Zoë Kravitz-Hall",
    "Ola Nordmann",
)
GENDERS = ("FEMALE", "MALE", "TRANSGENDER_FEMALE", "TRANSGENDER_MALE", "NON_BINARY", None)
CODECS = (("h264", "aac", "mp4"), ("hevc", "aac", "mkv"), ("vp9", "opus", "webm"))
RESOLUTIONS = ((1920, 1080), (1280, 720), (3840, 2160), (854, 480))
# Fixed word pool for descriptions: slicing it costs two random draws instead of one per word.
DETAIL_WORDS = tuple(WORDS[(i * 7 + i // 5) % len(WORDS)].lower() for i in range(1000))
COVER_COLOURS = tuple(solid_png((r, g, 128)) for r in (40, 120, 200) for g in (30, 160))


def _stamp(rng: random.Random, index: int, zone: tzinfo) -> tuple[str, str]:
    """Whole seconds in the server's zone, as Stash writes them, so seeded rows and rows saved
    later compare as text the way they would in a real database (no `.000000`, no mixed `Z`)."""
    created = EPOCH + timedelta(minutes=index, seconds=rng.randrange(60))
    updated = created + timedelta(seconds=rng.randrange(30 * 24 * 3600))
    return format_rfc3339(created.astimezone(zone)), format_rfc3339(updated.astimezone(zone))


def _title(rng: random.Random, index: int) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.07:
        return ""
    if roll < 0.15:
        return rng.choice(UNICODE_TITLES) + f" #{index}"
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)} {index}"


def _date(rng: random.Random) -> str | None:
    roll = rng.random()
    year = rng.randrange(1995, 2026)
    if roll < 0.1:
        return None
    if roll < 0.2:
        return str(year)
    if roll < 0.3:
        return f"{year}-{rng.randrange(1, 13):02d}"
    return f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def _details(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.3:
        return None
    if roll < 0.32:
        return ("Very long description. " * 400 + "終わり 🎬").strip()
    start = rng.randrange(len(DETAIL_WORDS) - 40)
    return " ".join(DETAIL_WORDS[start : start + rng.randrange(5, 40)])


class WorldSeeder:
    """Adds one seeded library to a store; all randomness comes from one `random.Random(seed)`."""

    def __init__(self, store: StashStore, seed: int, path_root: str) -> None:
        self.store = store
        self.zone = store.clock.zone
        self.rng = random.Random(seed)  # noqa: S311 - test data, not security
        self.path_root = path_root if path_root.endswith("/") else path_root + "/"

    def seed(self, n_scenes: int) -> list[int]:
        if not 0 <= n_scenes <= MAX_SEED_SCENES:
            raise ValueError(f"n_scenes must be between 0 and {MAX_SEED_SCENES}, got {n_scenes}")
        with self.store.lock:
            studios = self._studios(max(3, min(500, n_scenes // 40)))
            performers = self._performers(max(4, min(5000, n_scenes // 5)))
            tags = self._tags(max(5, min(300, n_scenes // 20)))
            groups = self._groups(max(2, min(300, n_scenes // 100)), studios)
            return [self._scene(i, studios, performers, tags, groups) for i in range(n_scenes)]

    def _studios(self, count: int) -> list[StudioRecord]:
        made: list[StudioRecord] = []
        for index in range(count):
            created, updated = _stamp(self.rng, index, self.zone)
            parent = made[self.rng.randrange(len(made))].id if made and index % 3 == 2 else None
            name = f"{self.rng.choice(WORDS)} Studios {index}" if index % 7 else f"スタジオ {index}"
            studio = StudioRecord(
                id=self.store.next_studio_id(),
                name=name,
                created_at=created,
                updated_at=updated,
                parent_id=parent,
                urls=[f"https://studio.example/{index}"],
                image=COVER_COLOURS[index % len(COVER_COLOURS)] if index % 4 else None,
            )
            self.store.studios[studio.id] = studio
            made.append(studio)
        return made

    def _performers(self, count: int) -> list[PerformerRecord]:
        made: list[PerformerRecord] = []
        for index in range(count):
            created, updated = _stamp(self.rng, index, self.zone)
            base = PERFORMER_NAMES[index % len(PERFORMER_NAMES)]
            performer = PerformerRecord(
                id=self.store.next_performer_id(),
                name=base if index < len(PERFORMER_NAMES) else f"{base} {index}",
                disambiguation="(II)" if index % 11 == 5 else None,
                gender=GENDERS[index % len(GENDERS)],
                created_at=created,
                updated_at=updated,
                image=COVER_COLOURS[index % len(COVER_COLOURS)] if index % 3 else None,
            )
            self.store.performers[performer.id] = performer
            made.append(performer)
        return made

    def _tags(self, count: int) -> list[TagRecord]:
        made: list[TagRecord] = []
        for index in range(count):
            created, updated = _stamp(self.rng, index, self.zone)
            name = f"{self.rng.choice(WORDS).lower()}-{index}" if index % 9 else f"タグ {index} ✨"
            tag = TagRecord(
                id=self.store.next_tag_id(), name=name, created_at=created, updated_at=updated
            )
            self.store.tags[tag.id] = tag
            made.append(tag)
        return made

    def _groups(self, count: int, studios: list[StudioRecord]) -> list[GroupRecord]:
        made: list[GroupRecord] = []
        for index in range(count):
            created, updated = _stamp(self.rng, index, self.zone)
            group = GroupRecord(
                id=self.store.next_group_id(),
                name=f"{self.rng.choice(WORDS)} Saga {index}",
                created_at=created,
                updated_at=updated,
                date=_date(self.rng),
                studio_id=self.rng.choice(studios).id,
            )
            self.store.groups[group.id] = group
            made.append(group)
        return made

    def _file(self, index: int, part: int, folder: str, created: str) -> FileRecord:
        rng = self.rng
        video, audio, container = CODECS[rng.randrange(len(CODECS))]
        width, height = RESOLUTIONS[rng.randrange(len(RESOLUTIONS))]
        # Scenes 0 and 1 share a basename in different folders: basename-only matching must fail.
        stem = "shared name" if index < 2 and part == 0 else f"scene {index:06d}"
        container = "mp4" if stem == "shared name" else container
        basename = f"{stem}{' - part ' + str(part + 1) if part else ''}.{container}"
        return FileRecord(
            id=self.store.next_file_id(),
            path=f"{self.path_root}{folder}/{basename}",
            basename=basename,
            size=rng.randrange(50_000_000, 8_000_000_000),
            duration=round(rng.uniform(60, 7200), 3),
            width=width,
            height=height,
            format=container,
            video_codec=video,
            audio_codec=audio,
            frame_rate=rng.choice((23.976, 25.0, 29.97, 30.0, 60.0)),
            bit_rate=rng.randrange(1_000_000, 40_000_000),
            mod_time=created,
            created_at=created,
            updated_at=created,
            oshash=f"{rng.getrandbits(64):016x}",
            checksum=f"{rng.getrandbits(128):032x}",
        )

    def _scene(
        self,
        index: int,
        studios: list[StudioRecord],
        performers: list[PerformerRecord],
        tags: list[TagRecord],
        groups: list[GroupRecord],
    ) -> int:
        rng = self.rng
        created, updated = _stamp(rng, index, self.zone)
        studio = rng.choice(studios) if rng.random() < 0.85 else None
        top = TOP_FOLDERS[index % len(TOP_FOLDERS)]
        folder = f"{top}/{studio.name if studio else 'Unsorted'}"
        if index == 1:
            folder = f"{TOP_FOLDERS[0]}/Elsewhere"
        file_count = 1 if rng.random() < 0.9 else rng.randrange(2, 4)
        scene = SceneRecord(
            id=self.store.next_scene_id(),
            created_at=created,
            updated_at=updated,
            title=_title(rng, index),
            code=f"SC-{index:05d}" if rng.random() < 0.3 else None,
            details=_details(rng),
            director=rng.choice(PERFORMER_NAMES) if rng.random() < 0.2 else None,
            urls=[f"https://scenes.example/{index}"] if rng.random() < 0.6 else [],
            date=_date(rng),
            rating100=rng.choice((None, 20, 40, 60, 80, 100)),
            organized=rng.random() < 0.3,
            studio_id=studio.id if studio else None,
            performer_ids=sorted({rng.choice(performers).id for _ in range(rng.randrange(0, 4))}),
            tag_ids=sorted({rng.choice(tags).id for _ in range(rng.randrange(0, 6))}),
            groups_links=[SceneGroupLink(rng.choice(groups).id, rng.randrange(1, 10))]
            if rng.random() < 0.1
            else [],
            files=[self._file(index, part, folder, created) for part in range(file_count)],
            cover=None if rng.random() < 0.1 else COVER_COLOURS[index % len(COVER_COLOURS)],
        )
        self.store.scenes[scene.id] = scene
        return scene.id
