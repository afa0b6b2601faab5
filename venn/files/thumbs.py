"""Thumbnails of uploaded images (Pillow; blocking: run in a thread)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

#: the longest side of a thumbnail, in pixels
THUMB_SIZE = 400


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    #: the thumbnail's type (``image/png`` or ``image/jpeg``), or None when none was made
    thumb_type: str | None


def make_thumbnail(source: Path, target: Path, max_pixels: int) -> ImageInfo | None:
    """Write ``source``'s thumbnail to ``target``; None if it is no readable image.

    An image of more than ``max_pixels`` pixels is not decoded (a small file can
    declare a huge canvas: a decompression bomb); its size is still reported.
    """
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > max_pixels or width < 1 or height < 1:
                return ImageInfo(width, height, None)
            image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))  # JPEG: decode at a reduced scale
            image.load()
            frame = ImageOps.exif_transpose(image)
            width, height = frame.size  # as shown (a rotated photo's sides swap)
            alpha = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
            frame = frame.convert("RGBA" if alpha else "RGB")
            frame.thumbnail((THUMB_SIZE, THUMB_SIZE))
            if alpha:
                frame.save(target, "PNG", optimize=True)
                return ImageInfo(width, height, "image/png")
            frame.save(target, "JPEG", quality=82)
            return ImageInfo(width, height, "image/jpeg")
    except (Image.DecompressionBombError, MemoryError):
        return None
    except Exception:  # noqa: BLE001 - any image Pillow cannot read simply gets no thumbnail
        return None
