"""Photo intake: content sniffing, bomb and size refusals, orientation, metadata stripping."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import struct
import time
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from app.core import photos
from app.core.errors import ValidationFailed
from app.core.photos import process_photo

RED, WHITE, BLUE = (255, 0, 0), (255, 255, 255), (0, 0, 255)
CST = timezone(timedelta(hours=8))
CHONGQING = ((29.0, 33.0, 45.0), (106.0, 34.0, 12.5))  # 29.5625 N, 106.5701389 E


# --- building test images ----------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def marked(size=(400, 200), mode="RGB") -> Image.Image:
    """White image with a red block in the stored top-left corner, to track orientation."""
    image = Image.new(mode, size, "white")
    image.paste(RED, (0, 0, 40, 40))
    return image


def camera_exif(
    orientation: int | None = None,
    taken: str | None = "2024:05:01 14:30:00",
    offset: str | None = None,
    subsec: str | None = None,
    lat=CHONGQING[0],
    lat_ref="N",
    lon=CHONGQING[1],
    lon_ref="E",
    **gps_extra,
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "SecretPhone 9"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        ifd[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if subsec is not None:
        ifd[ExifTags.Base.SubsecTimeOriginal] = subsec
    if lat is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        gps[ExifTags.GPS.GPSLatitude] = lat
        gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        gps[ExifTags.GPS.GPSLongitude] = lon
        for name, value in gps_extra.items():
            gps[getattr(ExifTags.GPS, name)] = value
    return exif


def camera_jpeg(image: Image.Image | None = None, **exif) -> bytes:
    return encode(
        image or marked(),
        "JPEG",
        quality=95,
        exif=camera_exif(**exif),
        comment=b"secret comment",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret xmp</x:xmpmeta>',
    )


def noisy(size) -> Image.Image:
    """Photo-like content that does not compress to nothing (so truncation hits the scan)."""
    return Image.merge(
        "RGB",
        [
            Image.effect_noise(size, 40),
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
        ],
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims the given size; the pixels do not exist."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(*sizes: tuple[int, int]) -> bytes:
    """A JPEG skeleton with a frame header per size, then a scan and nothing in it."""
    frames = b"".join(
        b"\xff\xc0"
        + struct.pack(">HBHHB", 17, 8, h, w, 3)
        + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
        for w, h in sizes
    )
    return b"\xff\xd8" + frames + b"\xff\xda\x00\x0c\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"


def webp_claiming(width: int, height: int) -> bytes:
    body = b"\x10\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def png_chunks(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def rgb_profile(description: str, red, green, blue) -> bytes:
    """A minimal ICC v2 matrix/TRC RGB profile, built by hand so no profile file is needed."""

    def xyz(v):
        return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)

    text = description.encode() + b"\0"
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = {
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 79,
        b"wtpt": xyz((0.9642, 1.0, 0.8249)),
        b"rXYZ": xyz(red),
        b"gXYZ": xyz(green),
        b"bXYZ": xyz(blue),
        b"rTRC": curve,
        b"gTRC": curve,
        b"bTRC": curve,
    }
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags.items():
        table += signature + struct.pack(">II", start + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    header = struct.pack(">I", start + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24
    header += s15(0.9642) + s15(1.0) + s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


# D50-adapted sRGB primaries; swapping red and green makes a profile where "red" means green.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (
    (0.4361, 0.2225, 0.0139),
    (0.3851, 0.7169, 0.0971),
    (0.1431, 0.0606, 0.7141),
)


def refused(data: bytes, code: str, **limits) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        process_photo(data, **limits)
    assert caught.value.code == code, caught.value.message
    assert caught.value.status == 422
    return caught.value


def reopen(photo) -> Image.Image:
    image = Image.open(io.BytesIO(photo.content))
    image.load()
    return image


def close(colour, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if Pillow is asked to open anything: the refusal must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("Image.open called; the input should have been refused before")

    monkeypatch.setattr(photos.Image, "open", forbidden)


# --- the phone photo ---------------------------------------------------------------------------


def test_rotated_phone_photo_becomes_upright_and_loses_its_metadata():
    upload = camera_jpeg(orientation=6)

    photo = process_photo(upload)

    assert (photo.width, photo.height, photo.mime) == (200, 400, "image/jpeg")
    image = reopen(photo)
    assert image.format == "JPEG" and image.size == (200, 400)
    # Orientation 6: the stored top-left corner is shown top-right.
    assert close(image.getpixel((195, 5)), RED)
    assert close(image.getpixel((5, 5)), WHITE)
    assert close(image.getpixel((195, 395)), WHITE)
    assert len(image.getexif()) == 0
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"):
        assert key not in image.info
    for secret in (b"Exif\0", b"secret", b"HUAWEI", b"SecretPhone", b"xmpmeta"):
        assert secret not in photo.content

    assert photo.taken_at == datetime(2024, 5, 1, 14, 30, tzinfo=CST)
    assert photo.taken_at.utcoffset() == timedelta(hours=8)
    assert photo.gps == pytest.approx((29.5625, 106.5701389))
    assert photo.original_format == "JPEG"


@pytest.mark.parametrize(
    ("orientation", "size", "red_corner"),
    [
        (None, (400, 200), "top-left"),
        (1, (400, 200), "top-left"),
        (2, (400, 200), "top-right"),
        (3, (400, 200), "bottom-right"),
        (6, (200, 400), "top-right"),
        (8, (200, 400), "bottom-left"),
    ],
)
def test_every_orientation_lands_the_corner_where_the_camera_saw_it(orientation, size, red_corner):
    photo = process_photo(camera_jpeg(orientation=orientation))

    image = reopen(photo)
    assert image.size == size
    w, h = size
    corners = {
        "top-left": (5, 5),
        "top-right": (w - 5, 5),
        "bottom-left": (5, h - 5),
        "bottom-right": (w - 5, h - 5),
    }
    for name, point in corners.items():
        assert close(image.getpixel(point), RED if name == red_corner else WHITE), name


def test_explicit_offset_and_subseconds_are_honoured():
    photo = process_photo(camera_jpeg(taken="2023:12:31 23:59:58", offset="-05:00", subsec="25"))

    assert photo.taken_at == datetime(
        2023, 12, 31, 23, 59, 58, 250000, tzinfo=timezone(timedelta(hours=-5))
    )


@pytest.mark.parametrize("taken", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday"])
def test_unknown_capture_time_is_none(taken):
    assert process_photo(camera_jpeg(taken=taken)).taken_at is None


def test_photo_without_exif_has_no_time_or_place():
    photo = process_photo(encode(marked(), "JPEG"))

    assert photo.taken_at is None and photo.gps is None


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        ({"lat_ref": "S", "lon_ref": "W"}, (-29.5625, -106.5701389)),
        ({"lat": (29.5625,), "lon": (106.5,)}, (29.5625, 106.5)),  # decimal degrees
        ({"GPSMapDatum": "WGS-84"}, (29.5625, 106.5701389)),
        ({"GPSStatus": "A"}, (29.5625, 106.5701389)),
        ({"lat": (0.0, 0.0, 0.0), "lon": (0.0, 0.0, 0.0)}, None),  # "no fix"
        ({"lat": (95.0, 0.0, 0.0)}, None),
        ({"lat": (29.0, 75.0, 0.0)}, None),  # 75 minutes
        ({"GPSStatus": "V"}, None),  # void measurement
        ({"GPSMapDatum": "TOKYO"}, None),
        ({"lat": None}, None),
    ],
)
def test_gps_is_kept_only_when_sane(gps, expected):
    photo = process_photo(camera_jpeg(**gps))

    if expected is None:
        assert photo.gps is None
    else:
        assert photo.gps == pytest.approx(expected)


# Pillow warns about the broken block while opening, as it would in production.
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_broken_exif_costs_the_metadata_not_the_photo():
    clean = encode(marked(), "JPEG")
    junk = b"Exif\0\0MM\0\x2a\xff\xff\xff\xf0garbage"
    upload = clean[:2] + b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk + clean[2:]

    photo = process_photo(upload)

    assert (photo.width, photo.height) == (400, 200)
    assert photo.taken_at is None and photo.gps is None
    assert b"garbage" not in photo.content


# --- formats -----------------------------------------------------------------------------------


def test_png_with_transparency_stays_png_and_keeps_its_alpha():
    image = marked(mode="RGBA")
    image.putpixel((399, 199), (0, 0, 0, 0))

    photo = process_photo(encode(image, "PNG"))

    assert photo.mime == "image/png"
    out = reopen(photo)
    assert out.format == "PNG" and out.mode == "RGBA"
    assert out.getpixel((399, 199))[3] == 0
    assert out.getpixel((10, 10)) == (*RED, 255)


def test_palette_png_with_a_transparent_index_stays_png():
    image = marked(mode="RGBA").convert("P")
    image.info["transparency"] = image.getpixel((300, 100))  # the white entry

    photo = process_photo(encode(image, "PNG", transparency=image.info["transparency"]))

    assert photo.mime == "image/png"
    assert reopen(photo).getpixel((300, 100))[3] == 0


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "1"])
def test_opaque_png_becomes_jpeg(mode):
    photo = process_photo(encode(marked().convert(mode), "PNG"))

    assert photo.mime == "image/jpeg"
    assert reopen(photo).format == "JPEG"
    assert photo.original_format == "PNG"


def test_png_text_chunks_and_exif_are_removed_but_place_and_time_are_kept():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret text")
    info.add_text("Author", "secret compressed " * 20, zip=True)
    info.add_itxt("Description", "secret 网格员", lang="zh", tkey="描述")
    image = marked(mode="RGBA")
    image.putpixel((0, 199), (0, 0, 0, 0))
    upload = encode(image, "PNG", pnginfo=info, exif=camera_exif())
    assert b"tEXt" in upload and b"zTXt" in upload and b"iTXt" in upload and b"eXIf" in upload

    photo = process_photo(upload)

    assert png_chunks(photo.content) == [b"IHDR", b"IDAT", b"IEND"]
    assert b"secret" not in photo.content
    out = reopen(photo)
    assert out.text == {} and len(out.getexif()) == 0
    assert photo.gps == pytest.approx((29.5625, 106.5701389))
    assert photo.taken_at == datetime(2024, 5, 1, 14, 30, tzinfo=CST)


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped():
    image = Image.new("I;16", (64, 64), 40000)  # 61% grey

    photo = process_photo(encode(image, "PNG"))

    value = reopen(photo).convert("L").getpixel((32, 32))
    assert 145 <= value <= 165


@pytest.mark.parametrize(
    ("params", "chunk"),
    [({"quality": 90}, b"VP8 "), ({"lossless": True}, b"VP8L"), ({"exif": camera_exif()}, b"VP8X")],
)
def test_opaque_webp_is_accepted_and_becomes_jpeg(params, chunk):
    upload = encode(marked(), "WEBP", **params)
    assert upload[12:16] == chunk  # each header layout is parsed by our own size check

    photo = process_photo(upload)

    assert photo.mime == "image/jpeg" and photo.original_format == "WEBP"
    assert (photo.width, photo.height) == (400, 200)
    assert close(reopen(photo).getpixel((10, 10)), RED)
    if "exif" in params:
        assert photo.gps == pytest.approx((29.5625, 106.5701389))


def test_webp_with_transparency_stays_webp():
    image = marked(mode="RGBA")
    image.paste((0, 0, 0, 0), (200, 0, 400, 200))

    photo = process_photo(encode(image, "WEBP", quality=90))

    assert photo.mime == "image/webp"
    out = reopen(photo)
    assert out.format == "WEBP" and out.mode == "RGBA"
    assert out.getpixel((300, 100))[3] == 0 and out.getpixel((10, 10))[3] == 255


def test_animated_png_and_webp_keep_the_first_frame():
    frames = [Image.new("RGB", (64, 48), RED), Image.new("RGB", (64, 48), BLUE)]
    for fmt in ("PNG", "WEBP"):
        upload = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
        assert Image.open(io.BytesIO(upload)).n_frames == 2

        photo = process_photo(upload)

        assert photo.mime == "image/jpeg", fmt
        assert close(reopen(photo).getpixel((32, 24)), RED), fmt


def test_jpeg_with_extra_mpf_images_is_a_jpeg():
    # Phones add MPF images (HDR gain maps, depth); Pillow calls such files MPO.
    upload = encode(marked(), "MPO", save_all=True, append_images=[Image.new("RGB", (400, 200))])
    assert Image.open(io.BytesIO(upload)).format == "MPO"

    photo = process_photo(upload)

    assert photo.original_format == "JPEG" and photo.mime == "image/jpeg"
    assert close(reopen(photo).getpixel((10, 10)), RED)
    assert b"MPF" not in photo.content


def test_cmyk_jpeg_becomes_rgb():
    photo = process_photo(encode(Image.new("CMYK", (50, 50), (0, 255, 255, 0)), "JPEG"))

    out = reopen(photo)
    assert out.mode == "RGB"
    assert close(out.getpixel((25, 25)), RED)


def test_colour_profile_is_applied_then_dropped():
    swapped = rgb_profile("Swapped red/green", SRGB_GREEN, SRGB_RED, SRGB_BLUE)

    photo = process_photo(encode(Image.new("RGB", (50, 50), RED), "JPEG", icc_profile=swapped))

    out = reopen(photo)
    assert "icc_profile" not in out.info
    assert close(out.getpixel((25, 25)), (0, 255, 0))  # what the profile said "red" meant


def test_srgb_profile_is_just_dropped():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    photo = process_photo(encode(marked(), "JPEG", icc_profile=srgb))

    out = reopen(photo)
    assert "icc_profile" not in out.info
    assert close(out.getpixel((10, 10)), RED)


def test_unreadable_colour_profile_is_ignored():
    photo = process_photo(encode(marked(), "JPEG", icc_profile=b"not a profile at all" * 10))

    assert "icc_profile" not in reopen(photo).info


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(b"just some text, saved as photo.jpg", id="text-named-jpg"),
        pytest.param(encode(marked(), "GIF"), id="gif"),
        pytest.param(encode(marked(), "BMP"), id="bmp"),
        pytest.param(encode(marked(), "TIFF"), id="tiff"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', id="svg"),
        pytest.param(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", id="pdf"),
        pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", id="heic"),
    ],
)
def test_other_content_is_unsupported(upload):
    error = refused(upload, "unsupported_image")

    assert "JPEG" in error.message and "PNG" in error.message and "WebP" in error.message


def test_empty_upload_is_refused():
    refused(b"", "empty_image")


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(b"\xff\xd8\xff\xe0 then nothing useful", id="jpeg-magic-junk"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, id="png-magic-junk"),
        pytest.param(b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0junkjunkjunk", id="webp-magic-junk"),
        pytest.param(encode(noisy((300, 200)), "JPEG")[:3000], id="truncated-jpeg"),
        pytest.param(encode(noisy((300, 200)), "PNG")[:3000], id="truncated-png"),
        pytest.param(encode(noisy((300, 200)), "WEBP")[:3000], id="truncated-webp"),
        pytest.param(png_claiming(0, 10), id="zero-width"),
    ],
)
def test_broken_images_are_corrupt(upload):
    error = refused(upload, "corrupt_image")

    assert "损坏" in error.message


def test_truncated_camera_photo_is_corrupt():
    upload = camera_jpeg(noisy((800, 600)), orientation=6)

    refused(upload[: len(upload) // 2], "corrupt_image")


def test_oversize_upload_is_refused_before_decoding(no_decoding):
    upload = b"\xff\xd8\xff" + b"\0" * (2 * 2**20)

    error = refused(upload, "photo_too_large", max_bytes=2**20)

    assert "1 MB" in error.message
    assert error.details == {"max_bytes": 2**20, "size": len(upload)}


def test_default_size_limit_is_15_mb(no_decoding):
    error = refused(b"\x89PNG\r\n\x1a\n" + b"\0" * (15 * 2**20), "photo_too_large")

    assert "15 MB" in error.message


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(png_claiming(50_000, 50_000), id="png-50000x50000"),
        pytest.param(png_claiming(7_000, 6_000), id="png-42mp-under-pillows-limit"),
        pytest.param(jpeg_claiming((60_000, 60_000)), id="jpeg-60000x60000"),
        pytest.param(jpeg_claiming((10, 10), (20_000, 20_000)), id="jpeg-decoy-frame-first"),
        pytest.param(webp_claiming(16_384, 16_384), id="webp-16384x16384"),
    ],
)
def test_decompression_bombs_are_refused_from_the_header(upload, no_decoding):
    assert len(upload) < 200
    started = time.perf_counter()

    error = refused(upload, "photo_dimensions_too_large")

    assert time.perf_counter() - started < 0.1
    assert "4000 万像素" in error.message


def test_raising_max_pixels_never_goes_past_pillows_own_limit(no_decoding):
    before = Image.MAX_IMAGE_PIXELS
    assert before and before < 120_000_000

    refused(png_claiming(12_000, 10_000), "photo_dimensions_too_large", max_pixels=10**9)

    assert before == Image.MAX_IMAGE_PIXELS


def test_real_image_over_a_small_pixel_limit_is_refused():
    refused(encode(marked(), "PNG"), "photo_dimensions_too_large", max_pixels=50_000)


def test_process_leaves_pillows_global_limits_alone():
    before = Image.MAX_IMAGE_PIXELS

    process_photo(encode(marked(), "JPEG"))

    assert before == Image.MAX_IMAGE_PIXELS


# --- size, hashes, result ----------------------------------------------------------------------


def test_large_phone_photo_is_downscaled_to_max_side():
    upload = camera_jpeg(noisy((4000, 3000)), orientation=6)

    photo = process_photo(upload)

    assert (photo.width, photo.height) == (1920, 2560)
    assert reopen(photo).size == (1920, 2560)
    assert photo.size < len(upload)


@pytest.mark.parametrize(
    ("fmt", "size", "max_side", "expected"),
    [
        ("JPEG", (6000, 4000), 1000, (1000, 667)),  # decoded at 1/4 (draft), then resized
        ("JPEG", (5120, 3840), 2560, (2560, 1920)),  # exactly 1/2: the draft is the result
        ("PNG", (3000, 1000), 2560, (2560, 853)),
        ("WEBP", (1000, 3000), 600, (200, 600)),
        ("JPEG", (2560, 100), 2560, (2560, 100)),  # at the limit: untouched size
    ],
)
def test_downscale_keeps_aspect_ratio(fmt, size, max_side, expected):
    image = Image.new("RGB", size, "white")
    image.paste(RED, (0, 0, size[0] // 10, size[1] // 10))

    photo = process_photo(encode(image, fmt), max_side=max_side)

    assert (photo.width, photo.height) == expected
    assert close(reopen(photo).getpixel((2, 2)), RED)


def test_hashes_identify_the_upload_and_the_stored_bytes():
    upload = camera_jpeg(orientation=6)

    first, again = process_photo(upload), process_photo(upload)

    assert first.original_sha256 == hashlib.sha256(upload).hexdigest()
    assert first.sha256 == hashlib.sha256(first.content).hexdigest()
    assert first.sha256 != first.original_sha256
    # Same upload, same stored bytes: retries deduplicate on either hash.
    assert again == first


def test_photo_is_frozen_and_its_repr_leaves_out_the_bytes():
    photo = process_photo(encode(marked(), "JPEG"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        photo.mime = "image/png"  # type: ignore[misc]
    assert "content" not in repr(photo)
    assert photo.size == len(photo.content)


def test_bytes_like_input_is_accepted():
    upload = encode(marked(), "JPEG")

    assert process_photo(memoryview(upload)).original_sha256 == hashlib.sha256(upload).hexdigest()
