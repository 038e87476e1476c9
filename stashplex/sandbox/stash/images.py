"""Image bytes the emulator serves: stored images, and the built-in defaults Stash falls back to.

Real Stash never answers "no image" on an image route: a scene without a cover gets the embedded
`scene/scene.svg` (internal/manager/running_streams.go, `ServeScreenshot`), a studio, tag or group
without an image gets its kind's embedded SVG (internal/static/embed.go), and a performer gets one
of the embedded PNG portraits. All are HTTP 200, so nothing on the wire tells a default apart but
its bytes. The emulator's defaults are its own small drawings of the same types.
"""

from __future__ import annotations

import hashlib
import struct
import zlib


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _svg(label: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 90">'
        '<rect width="160" height="90" fill="#404040"/>'
        f'<text x="80" y="50" fill="#a0a0a0" text-anchor="middle">{label}</text></svg>'
    ).encode()


#: The default performer portrait (Stash's are PNGs).
DEFAULT_IMAGE = _png(16, 9, (64, 64, 64))
#: Default images per route kind, as Stash serves them when nothing is stored.
DEFAULT_IMAGES: dict[str, bytes] = {
    "scene": _svg("scene"),
    "performer": DEFAULT_IMAGE,
    "studio": _svg("studio"),
    "tag": _svg("tag"),
    "group": _svg("group"),
}


def solid_png(rgb: tuple[int, int, int]) -> bytes:
    """A small real PNG, distinct per colour, used as seeded covers and portraits."""
    return _png(16, 9, rgb)


def content_type(image: bytes) -> str:
    """Go's `http.DetectContentType`, with Stash's SVG fix-up (pkg/utils/image.go, `ServeImage`).

    Go sniffs an SVG as text/xml or text/plain; Stash then answers `image/svg+xml`.
    """
    if image.startswith(b"\x89PNG"):
        return "image/png"
    if image.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if image.startswith(b"GIF8"):
        return "image/gif"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "image/webp"
    head = image[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return "image/svg+xml"
    return "application/octet-stream"


def etag(data: bytes) -> str:
    """pkg/utils/http.go, `GenerateETag`: the MD5 of the bytes, quoted."""
    return '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - an ETag, not security
