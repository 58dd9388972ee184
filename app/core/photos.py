"""Turn an untrusted phone upload into a clean, upright, metadata-free photo plus the facts we keep.

Decisions (read before changing):

* Accepted inputs are JPEG, PNG (incl. APNG) and WebP, decided by the bytes, never by the name or
  the declared type. A JPEG carrying extra MPF images (HDR gain maps, "MPO") is a JPEG; only its
  primary image is used. HEIC, GIF, SVG, PDF etc. are refused as ``unsupported_image``.
* Output is JPEG (quality 85, progressive) whenever the picture is opaque, whatever the input:
  photos are the point, JPEG is what every browser, PDF export and WeChat web view shows. Pictures
  with real transparency keep it: PNG input stays PNG, WebP input stays WebP (lossy 85, lossless
  alpha). An alpha channel that is fully opaque does not count as transparency.
* Nothing from the upload's metadata reaches the stored file: no EXIF (so no GPS or device),
  no XMP, no ICC profile, no JPEG comments, no PNG text chunks. Colour survives anyway: a
  non-sRGB ICC profile (iPhone Display P3, CMYK print profiles) is converted to sRGB before it is
  dropped, and unprofiled pixels are taken to be sRGB already.
* What we keep is returned as fields, not stored in the file: when the photo was taken and where
  (WGS84, as phone cameras write it), for the incident record.
* Animated PNG/WebP: the first frame is the photo; the animation is dropped.
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from app.core.errors import ValidationFailed

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2560
JPEG_QUALITY = 85

# EXIF local times without an offset tag are wall-clock times of the phone; our users are in
# Chongqing and China has had one zone without DST since 1991, so +08:00 is the right reading.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_JPEG, _PNG, _WEBP = "JPEG", "PNG", "WEBP"
# Pillow names → the container we sniffed; MPO is Pillow's name for a JPEG with MPF images.
_PILLOW_FORMATS = {"JPEG": _JPEG, "MPO": _JPEG, "PNG": _PNG, "WEBP": _WEBP}

# Pillow's own refusals of malformed files; anything else is a bug and should surface as one.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)

# The table ImageOps.exif_transpose uses; applied here to the downscaled image (fewer pixels to
# move) and driven by the EXIF we parsed defensively, so a broken EXIF block cannot fail an upload.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# JPEG start-of-frame markers (all coding processes); C4, C8 and CC are not frames.
_JPEG_SOF = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF}
)
_EXIF_TIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


@dataclass(frozen=True, slots=True)
class Photo:
    """A cleaned photo ready for storage, with the metadata we chose to keep as plain fields."""

    content: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    sha256: str  # of content; storage keys are built from it
    original_sha256: str  # of the upload: spots a retried or duplicate submission
    original_format: str  # "JPEG" | "PNG" | "WEBP", as sniffed from the bytes
    taken_at: datetime | None = None  # aware; naive EXIF times are read as +08:00
    gps: tuple[float, float] | None = None  # (lat, lon), WGS84 decimal degrees

    @property
    def size(self) -> int:
        """Bytes of the cleaned file, for quotas and Content-Length."""
        return len(self.content)


def process_photo(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
) -> Photo:
    """Validate, decode, orient, shrink and re-encode an upload; raise ValidationFailed if bad."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if not data:
        raise ValidationFailed("图片为空，请重新选择", code="empty_image")
    if len(data) > max_bytes:
        raise ValidationFailed(
            f"图片过大，最大 {max_bytes / 2**20:.3g} MB",
            code="photo_too_large",
            max_bytes=max_bytes,
            size=len(data),
        )
    fmt = _sniff(data)
    # Our own header read, before Pillow sees the file: Pillow's bomb limit (~89 MP warns,
    # ~179 MP errors) is far above ours and is a process-wide global we must not change.
    header_width, header_height = _HEADER_SIZE[fmt](data)
    pixel_limit = max_pixels
    if Image.MAX_IMAGE_PIXELS:
        # Keep Pillow's own check silent: above its limit it warns, then errors.
        pixel_limit = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    _check_pixels(header_width, header_height, pixel_limit)
    target = _fit(header_width, header_height, max_side)

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if _PILLOW_FORMATS.get(image.format or "") != fmt:
                raise _unsupported()
            _check_pixels(*image.size, pixel_limit)
            if fmt == _JPEG and target != image.size:
                # DCT-domain downscale by 1/2, 1/4 or 1/8 while decoding, never below target.
                image.draft(None, target)
            image.load()
            exif = _read_exif(image)
            icc = image.info.get("icc_profile")
            picture, transparent = _flatten_mode(image)
    except Image.DecompressionBombError as error:
        raise _too_many_pixels(header_width, header_height, max_pixels) from error
    except UnidentifiedImageError as error:
        raise _corrupt() from error
    except _DECODE_ERRORS as error:
        raise _corrupt() from error

    if picture.size != target:
        picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    orientation = exif.get(ExifTags.Base.Orientation) if exif is not None else None
    if isinstance(orientation, int) and orientation in _TRANSPOSE:
        picture = picture.transpose(_TRANSPOSE[orientation])
    picture = _to_srgb(picture, icc)
    content, mime = _encode(picture, transparent, fmt)

    return Photo(
        content=content,
        mime=mime,
        width=picture.width,
        height=picture.height,
        sha256=hashlib.sha256(content).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        original_format=fmt,
        taken_at=_taken_at(exif),
        gps=_gps(exif),
    )


# --- refusals ----------------------------------------------------------------------------------


def _unsupported() -> ValidationFailed:
    return ValidationFailed("不支持的图片格式，仅支持 JPEG、PNG、WebP", code="unsupported_image")


def _corrupt() -> ValidationFailed:
    return ValidationFailed("图片已损坏或不完整，请重新拍摄或选择", code="corrupt_image")


def _too_many_pixels(width: int, height: int, max_pixels: int) -> ValidationFailed:
    return ValidationFailed(
        f"图片尺寸过大（{width}×{height}），最多 {max_pixels / 10_000:g} 万像素",
        code="photo_dimensions_too_large",
        width=width,
        height=height,
        max_pixels=max_pixels,
    )


def _check_pixels(width: int, height: int, limit: int) -> None:
    if width <= 0 or height <= 0:
        raise _corrupt()
    if width * height > limit:
        raise _too_many_pixels(width, height, limit)


# --- container sniffing and header dimensions (no decoding) ------------------------------------


def _sniff(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _WEBP
    raise _unsupported()


def _png_size(data: bytes) -> tuple[int, int]:
    # IHDR must be the first chunk, at a fixed offset.
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _corrupt()
    return struct.unpack(">II", data[16:24])


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8X" and len(body) >= 10:  # extended: canvas size, 24-bit minus one
        return int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:  # lossless: 14-bit minus one
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":  # lossy: 14-bit
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    raise _corrupt()


def _jpeg_size(data: bytes) -> tuple[int, int]:
    # Walk the marker segments up to the first scan; the compressed data is never touched.
    # Every frame header counts (the largest wins), so a small decoy before a huge one is no use.
    end, i, best = len(data), 2, None
    while i < end and data[i] == 0xFF:
        while i < end and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= end:
            break
        marker = data[i]
        i += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker in (0xD9, 0xDA) or i + 2 > end:  # end of image, or the scan starts
            break
        (length,) = struct.unpack(">H", data[i : i + 2])
        if length < 2:
            break
        if marker in _JPEG_SOF and length >= 7 and i + 7 <= end:
            height, width = struct.unpack(">HH", data[i + 3 : i + 7])
            if best is None or width * height > best[0] * best[1]:
                best = width, height
        i += length
    if best is None:
        raise _corrupt()
    return best


_HEADER_SIZE = {_JPEG: _jpeg_size, _PNG: _png_size, _WEBP: _webp_size}


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


# --- pixels ------------------------------------------------------------------------------------


def _flatten_mode(image: Image.Image) -> tuple[Image.Image, bool]:
    """Reduce every decoded mode to L, RGB, RGBA or CMYK; say whether any pixel is see-through."""
    mode = image.mode
    if mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits; convert("L") would clip
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    elif mode == "1":
        image = image.convert("L")
    elif mode == "P" or "transparency" in image.info or mode in ("LA", "La", "PA", "RGBa"):
        # Palette and colour-key (tRNS) transparency become a real alpha channel.
        rgba = "transparency" in image.info or mode != "P"
        image = image.convert("RGBA" if rgba else "RGB")
    elif mode not in ("L", "RGB", "RGBA", "CMYK"):
        image = image.convert("RGB")
    if image.mode != "RGBA":
        return image, False
    lowest_alpha, _ = image.getchannel("A").getextrema()
    if lowest_alpha == 255:  # an alpha channel nobody used; JPEG it
        return image.convert("RGB"), False
    return image, True


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Apply the embedded colour profile so the pixels are sRGB and the profile can be dropped."""
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            space = source.profile.xcolor_space.strip()
            wanted = "CMYK" if image.mode == "CMYK" else "RGB"
            already_srgb = "srgb" in ImageCms.getProfileDescription(source).lower()
            if space == wanted and not (wanted == "RGB" and already_srgb):
                alpha = image.getchannel("A") if image.mode == "RGBA" else None
                colour = image.convert("RGB") if alpha is not None else image
                converted = ImageCms.profileToProfile(
                    colour, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
                )
                if converted is not None:
                    if alpha is not None:
                        converted.putalpha(alpha)
                    image = converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            # A profile lcms cannot read is no worse than no profile: treat pixels as sRGB.
            pass
    if image.mode == "CMYK":
        image = image.convert("RGB")
    return image


def _encode(image: Image.Image, transparent: bool, fmt: str) -> tuple[bytes, str]:
    # Pillow falls back to image.info for some chunks (JPEG comment, PNG iCCP); start clean.
    image.info = {}
    out = io.BytesIO()
    if not transparent:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        return out.getvalue(), "image/jpeg"
    if fmt == _WEBP:
        image.save(out, "WEBP", quality=JPEG_QUALITY, method=4)
        return out.getvalue(), "image/webp"
    # Level 3, not zlib's default 6: on a 2560 px RGBA photo it is ~2x faster for ~15% more bytes.
    image.save(out, "PNG", compress_level=3)
    return out.getvalue(), "image/png"


# --- metadata we keep --------------------------------------------------------------------------


def _read_exif(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except Exception:
        # Metadata is a bonus; a malformed EXIF block must not cost the user the photo.
        return None


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ").strip() or None


def _taken_at(exif: Image.Exif | None) -> datetime | None:
    """DateTimeOriginal (else DateTimeDigitized) as an aware datetime; never the file-edit time."""
    if exif is None:
        return None
    try:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        for time_tag, offset_tag, subsec_tag in (
            (
                ExifTags.Base.DateTimeOriginal,
                ExifTags.Base.OffsetTimeOriginal,
                ExifTags.Base.SubsecTimeOriginal,
            ),
            (
                ExifTags.Base.DateTimeDigitized,
                ExifTags.Base.OffsetTimeDigitized,
                ExifTags.Base.SubsecTimeDigitized,
            ),
        ):
            text = _exif_text(ifd.get(time_tag, exif.get(time_tag)))
            match = _EXIF_TIME.fullmatch(text or "")
            if not match:
                continue
            year, month, day, hour, minute, second = map(int, match.groups())
            try:
                taken = datetime(year, month, day, hour, minute, second, tzinfo=CHINA_TZ)
            except ValueError:  # "0000:00:00 00:00:00" and friends: the camera did not know
                continue
            subsec = _exif_text(ifd.get(subsec_tag)) or ""
            if subsec.isdigit():
                taken = taken.replace(microsecond=int(subsec[:6].ljust(6, "0")))
            offset = _EXIF_OFFSET.fullmatch(_exif_text(ifd.get(offset_tag)) or "")
            if offset:
                sign = -1 if offset[1] == "-" else 1
                delta = timedelta(hours=int(offset[2]), minutes=int(offset[3]))
                if delta <= timedelta(hours=14):
                    taken = taken.replace(tzinfo=timezone(sign * delta))
            return taken
    except Exception:
        # Same as _read_exif: odd values in the EXIF IFD lose the time, not the photo.
        return None
    return None


def _gps(exif: Image.Exif | None) -> tuple[float, float] | None:
    """(lat, lon) in WGS84 decimal degrees, or None if absent, void, or implausible."""
    if exif is None:
        return None
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if not gps:
            return None
        if (_exif_text(gps.get(ExifTags.GPS.GPSStatus)) or "A").upper() == "V":
            return None  # receiver said the measurement is void
        datum = _exif_text(gps.get(ExifTags.GPS.GPSMapDatum)) or ""
        datum = re.sub(r"[^A-Z0-9]", "", datum.upper())
        if datum and datum != "WGS84":
            return None  # e.g. TOKYO or GCJ02: not coordinates we can use as they are
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
        lon = _degrees(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W"
        )
    except Exception:
        # Same as _read_exif: a malformed GPS IFD loses the location, not the photo.
        return None
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    if lat == 0 and lon == 0:  # what some phones write when they had no fix
        return None
    return round(lat, 7), round(lon, 7)


def _degrees(value: object, ref: object, negative: str) -> float | None:
    # Degrees, minutes, seconds as rationals; some writers store decimal degrees alone, which
    # Pillow hands back as a bare rational rather than a 1-tuple.
    if isinstance(value, numbers.Real):
        value = (value,)
    if not isinstance(value, tuple) or not 1 <= len(value) <= 3:
        return None
    parts = [float(part) for part in value]
    if not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    if any(part >= 60 for part in parts[1:]):
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    # A missing ref is read as N/E: every plausible upload here is in that quadrant.
    if (_exif_text(ref) or "").upper().startswith(negative):
        degrees = -degrees
    return degrees
