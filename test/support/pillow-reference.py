#!/usr/bin/python3
"""Pillow reference for the image worker's tests (run with Debian's /usr/bin/python3).

Reads a JSON request on stdin: {"fixtures": dir, "out": dir, "cases": [...]}.
1. Writes the exotic variants of the real fixture images to `out` (16-bit, palette, grey+alpha,
   1/2/4-bit, colour-key, interlaced PNG; progressive, greyscale, 4:4:4, EXIF-rotated JPEG).
2. For each case {id, file, width, height, fit, filter, background, padValue} writes
   `out/<id>.rgb`: the uint8 HWC pixels of the reference pipeline:
     decode -> ImageOps.exif_transpose -> RGB (alpha dropped, or alpha_composite on background)
     -> fill:    im.resize((width, height), filter)
        cover:   torchvision Resize(shorter side) + CenterCrop, generalized to width != height
        contain: ImageOps.pad(im, (width, height), filter, color=padValue)
Prints {"variants": [...]} on stdout.
"""
import io
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def png_bytes(arr, depth, color_type, interlace=False, trns=None):
    """A PNG of `arr` (H x W [x C]) written by hand: Pillow cannot write 16-bit RGB(A),
    1/2/4-bit grey, colour keys or Adam7."""
    arr = np.asarray(arr)
    height, width = arr.shape[:2]
    samples = arr.reshape(height, width, -1)

    def raw_rows(img):
        rows = []
        for row in img:
            flat = row.reshape(-1)
            if depth == 16:
                data = flat.astype(">u2").tobytes()
            elif depth == 8:
                data = flat.astype("u1").tobytes()
            else:
                data = np.packbits(np.unpackbits(flat.astype("u1")[:, None], axis=1)[:, 8 - depth:]).tobytes()
            rows.append(b"\x00" + data)
        return b"".join(rows)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(raw_rows(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in passes if samples[y0::dy, x0::dx].size)
    else:
        raw = raw_rows(samples)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0)
    extra = chunk(b"tRNS", struct.pack(">" + "H" * len(trns), *trns)) if trns is not None else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def radial_alpha(height, width):
    y, x = np.mgrid[0:height, 0:width]
    d = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2))
    return np.clip(255 * (1.2 - d), 0, 255).astype(np.uint8)


def make_variants(fixtures, out):
    def load(name):
        return Image.open(os.path.join(fixtures, name))

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        return name

    rng = np.random.default_rng(12)
    coffee = np.asarray(load("coffee.png").convert("RGB"))
    camera = np.asarray(load("camera.png").convert("L"))
    alpha = radial_alpha(*coffee.shape[:2])
    # 16-bit samples whose low byte is noise: the high byte must win, not a rounding of both.
    wide = np.clip(coffee.astype(np.int32) * 257 + rng.integers(-120, 120, coffee.shape), 0, 65535)
    names = [
        write("coffee-rgb16.png", png_bytes(wide, 16, 2)),
        write("coffee-gray16.png", png_bytes(wide[..., 1], 16, 0)),
        write("coffee-rgba16.png", png_bytes(np.dstack([wide, np.minimum(alpha.astype(np.int32) * 257 + 77, 65535)]), 16, 6)),
        write("coffee-interlaced.png", png_bytes(coffee, 8, 2, interlace=True)),
        write("coffee-key.png", png_bytes(coffee // 32 * 32, 8, 2, trns=(96, 64, 32))),
        write("camera-1bit.png", png_bytes(camera >> 7, 1, 0)),
        write("camera-2bit.png", png_bytes(camera >> 6, 2, 0)),
        write("camera-4bit.png", png_bytes(camera >> 4, 4, 0)),
    ]
    rgba = Image.fromarray(np.dstack([coffee, alpha]), "RGBA")
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    names.append(write("coffee-rgba.png", buffer.getvalue()))
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([camera, radial_alpha(*camera.shape)]), "LA").save(buffer, "PNG")
    names.append(write("camera-la.png", buffer.getvalue()))
    palette = load("coffee.png").convert("RGB").quantize(200)
    buffer = io.BytesIO()
    palette.save(buffer, "PNG")
    names.append(write("coffee-palette.png", buffer.getvalue()))
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=bytes(range(0, 200, 1)))
    names.append(write("coffee-palette-alpha.png", buffer.getvalue()))
    buffer = io.BytesIO()
    load("retina.jpg").convert("RGB").save(buffer, "PNG")
    names.append(write("retina-large.png", buffer.getvalue()))

    retina = load("retina.jpg").convert("RGB")
    rocket = load("rocket.jpg").convert("RGB")
    for name, image, options in [
        ("retina-progressive.jpg", retina, {"quality": 90, "progressive": True}),
        ("rocket-444.jpg", rocket, {"quality": 95, "subsampling": 0}),
        ("hubble-gray.jpg", load("hubble_deep_field.jpg").convert("L"), {"quality": 90}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", **options)
        names.append(write(name, buffer.getvalue()))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        rocket.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
        names.append(write(f"rocket-orientation-{orientation}.jpg", buffer.getvalue()))
    return names


def to_rgb(image, background):
    """Decoded image -> RGB as the worker defines it: Pillow's conversions, except that 16-bit
    greyscale keeps its high byte (Pillow's own convert clips it at 255)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B"):
        image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8), "L")
    if background is None:
        return image.convert("RGB")
    base = Image.new("RGBA", image.size, tuple(background) + (255,))
    return Image.alpha_composite(base, image.convert("RGBA")).convert("RGB")


def cover(image, width, height, method):
    """torchvision's Resize(int) + CenterCrop, for width == height exactly that; otherwise the
    side that must grow most is set and the other is int(size * long / short), the same rule."""
    w, h = image.size
    if width / w >= height / h:
        size = (width, max(height, int(width * h / w)))
    else:
        size = (max(width, int(height * w / h)), height)
    resized = image.resize(size, method)
    top = int(round((size[1] - height) / 2.0))
    left = int(round((size[0] - width) / 2.0))
    return resized.crop((left, top, left + width, top + height))


def reference(image, case):
    method = FILTERS[case["filter"]]
    size = (case["width"], case["height"])
    if case["fit"] == "fill":
        return image.resize(size, method)
    if case["fit"] == "cover":
        return cover(image, case["width"], case["height"], method)
    return ImageOps.pad(image, size, method=method, color=tuple(case["padValue"]))


def main():
    request = json.load(sys.stdin)
    fixtures, out = request["fixtures"], request["out"]
    variants = make_variants(fixtures, out)
    for case in request["cases"]:
        folder = out if case["file"] in variants else fixtures
        with Image.open(os.path.join(folder, case["file"])) as image:
            rgb = to_rgb(image, case.get("background"))
        pixels = np.asarray(reference(rgb, case).convert("RGB"), dtype=np.uint8)
        assert pixels.shape == (case["height"], case["width"], 3), pixels.shape
        with open(os.path.join(out, case["id"] + ".rgb"), "wb") as f:
            f.write(pixels.tobytes())
    json.dump({"variants": variants}, sys.stdout)


if __name__ == "__main__":
    main()
