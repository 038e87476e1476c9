"""The rows the emulator stores; attributes are named as GraphQL fields so resolvers stay thin."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class FileRecord:
    id: int
    path: str
    basename: str
    size: int
    duration: float
    width: int
    height: int
    format: str
    video_codec: str
    audio_codec: str
    frame_rate: float
    bit_rate: int
    mod_time: str
    created_at: str
    updated_at: str
    oshash: str
    checksum: str
    phash: str | None = None

    @property
    def fingerprints(self) -> list[dict[str, str]]:
        prints = [{"type": "oshash", "value": self.oshash}, {"type": "md5", "value": self.checksum}]
        if self.phash:
            prints.append({"type": "phash", "value": self.phash})
        return prints


@dataclass(slots=True)
class SceneGroupLink:
    group_id: int
    scene_index: int | None


@dataclass(slots=True)
class StashIdRecord:
    endpoint: str
    stash_id: str
    updated_at: str


@dataclass(slots=True)
class SceneRecord:
    id: int
    created_at: str
    updated_at: str
    title: str | None = None
    code: str | None = None
    details: str | None = None
    director: str | None = None
    urls: list[str] = field(default_factory=list)
    date: str | None = None
    rating100: int | None = None
    organized: bool = False
    o_counter: int = 0
    play_count: int = 0
    interactive: bool = False
    studio_id: int | None = None
    performer_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    gallery_ids: list[int] = field(default_factory=list)
    groups_links: list[SceneGroupLink] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    stash_ids: list[StashIdRecord] = field(default_factory=list)
    cover: bytes | None = None
    resume_time: float | None = None
    play_duration: float | None = None


@dataclass(slots=True)
class StudioRecord:
    id: int
    name: str
    created_at: str
    updated_at: str
    parent_id: int | None = None
    urls: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    details: str | None = None
    rating100: int | None = None
    favorite: bool = False
    image: bytes | None = None


@dataclass(slots=True)
class PerformerRecord:
    id: int
    name: str
    created_at: str
    updated_at: str
    disambiguation: str | None = None
    gender: str | None = None
    urls: list[str] = field(default_factory=list)
    birthdate: str | None = None
    country: str | None = None
    alias_list: list[str] = field(default_factory=list)
    favorite: bool = False
    rating100: int | None = None
    details: str | None = None
    image: bytes | None = None


@dataclass(slots=True)
class TagRecord:
    id: int
    name: str
    created_at: str
    updated_at: str
    sort_name: str | None = None
    description: str | None = None
    aliases: list[str] = field(default_factory=list)
    ignore_auto_tag: bool = False
    favorite: bool = False
    image: bytes | None = None


@dataclass(slots=True)
class GroupRecord:
    id: int
    name: str
    created_at: str
    updated_at: str
    aliases: str | None = None
    duration: int | None = None
    date: str | None = None
    rating100: int | None = None
    studio_id: int | None = None
    director: str | None = None
    synopsis: str | None = None
    urls: list[str] = field(default_factory=list)
    front_image: bytes | None = None
