"""Reading images: every pixel mode by its meaning on one grey scale (0..255), and the
images that are refused (32-bit pixels, several frames, decompression bombs, grids
too fine for the image, damaged files) with one InputError naming the file."""

import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, features

from soart_core.errors import InputError
from soart_core.images import (LUMA, find_images, image_metrics, read_gray, region_labels,
                               soart_metrics)

SHAPE = (24, 32)  # height x width: a 2 x 2 grid of 12 x 16 regions
LUMA_ROUNDING = 1e-12  # 0.299 v + 0.587 v + 0.114 v differs from v by up to ~3e-14


def picture(seed):
    """A grey picture (uint8) with a gradient, noise, black and white."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, SHAPE[1])[None, :] * np.ones(SHAPE)
    levels = np.clip(ramp + rng.normal(0, 20, SHAPE), 0, 255).round().astype(np.uint8)
    levels[0, 0], levels[-1, -1] = 0, 255
    return levels


def palette_image(levels):
    """`levels` (grey or colour) as a palette image whose indices are NOT the levels."""
    flat = levels.reshape(-1, levels.shape[2]) if levels.ndim == 3 else levels.reshape(-1, 1)
    colours, indices = np.unique(flat, axis=0, return_inverse=True)
    image = Image.fromarray(indices.reshape(levels.shape[:2]).astype(np.uint8), "P")
    image.putpalette(np.broadcast_to(colours, (len(colours), 3)).ravel().tolist())
    return image


def alpha():
    return Image.fromarray((np.arange(np.prod(SHAPE)) % 256).reshape(SHAPE).astype(np.uint8))


def grey_variants(levels):
    """{file name: (Pillow image, save options, tolerance against levels)}: one grey
    picture in every mode it can be saved in without loss."""
    grey = Image.fromarray(levels)
    rgba, la = grey.convert("RGBA"), grey.convert("LA")
    rgba.putalpha(alpha())
    la.putalpha(alpha())
    deep = Image.fromarray(levels.astype(np.uint16) * 257)  # 16 bits, v -> 257 v
    variants = {
        "L.png": (grey, {}, 0), "16.tif": (deep, {}, 0), "16.png": (deep, {}, 0),
        "P.png": (palette_image(levels), {}, 0), "P.gif": (palette_image(levels), {}, 0),
        "LA.png": (la, {}, 0), "RGB.png": (grey.convert("RGB"), {}, LUMA_ROUNDING),
        "RGBA.png": (rgba, {}, LUMA_ROUNDING),
        "RGB.bmp": (grey.convert("RGB"), {}, LUMA_ROUNDING),
    }
    if features.check("webp"):  # lossless WebP of grey is read as RGB
        variants["L.webp"] = (grey, {"lossless": True}, LUMA_ROUNDING)
    return variants


def save_all(folder, prefix, variants):
    paths = {}
    for name, (image, options, _) in variants.items():
        paths[name] = folder / f"{prefix}_{name}"
        image.save(paths[name], **options)
    return paths


@pytest.mark.parametrize("grayscale", ["luma", "mean"])
def test_one_grey_picture_in_every_mode_reads_the_same(tmp_path, grayscale):
    levels = picture(1)
    variants = grey_variants(levels)
    for name, path in save_all(tmp_path, "a", variants).items():
        got = read_gray(path, grayscale)
        tolerance = variants[name][2] if grayscale == "luma" else 0  # mean: exact
        np.testing.assert_allclose(got, levels, rtol=0, atol=tolerance, err_msg=name)
        if name.startswith(("16", "P")):  # the raw numbers are not the grey (the bug)
            assert not np.array_equal(np.asarray(Image.open(path)), levels), name


def test_black_and_white_in_every_mode(tmp_path):
    bw = np.where(picture(2) > 127, 255, 0).astype(np.uint8)
    one = Image.fromarray(bw).convert("1")
    images = {"L.png": Image.fromarray(bw), "1.png": one, "1.tif": one, "1.bmp": one,
              "P.png": palette_image(bw), "P.gif": palette_image(bw)}
    for name, image in images.items():
        image.save(tmp_path / name)
        np.testing.assert_array_equal(read_gray(tmp_path / name), bw, err_msg=name)
    assert Image.open(tmp_path / "1.png").mode == "1"
    assert np.asarray(Image.open(tmp_path / "1.png")).max() == 1  # read as 0/1 before


@pytest.mark.parametrize("grayscale", ["luma", "mean"])
def test_colour_through_rgb_and_the_palette(tmp_path, grayscale):
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (40, 3), dtype=np.uint8)  # few enough for a palette
    rgb = colours[rng.integers(0, 40, SHAPE)]
    # luma exactly as before: the float64 product with the BT.601 weights
    want = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) if grayscale == "luma" \
        else rgb.astype(np.float64).mean(axis=2)
    rgba = Image.fromarray(rgb)
    rgba.putalpha(alpha())
    exact = {"RGB.png": Image.fromarray(rgb), "RGBA.png": rgba,
             "RGB.tif": Image.fromarray(rgb), "CMYK.tif": Image.fromarray(rgb).convert("CMYK")}
    for name, image in exact.items():
        image.save(tmp_path / name)
        np.testing.assert_array_equal(read_gray(tmp_path / name, grayscale), want, name)
    assert Image.open(tmp_path / "CMYK.tif").mode == "CMYK"
    for name in ("P.png", "P.gif"):  # the same weights, per palette entry
        palette_image(rgb).save(tmp_path / name)
        np.testing.assert_allclose(read_gray(tmp_path / name, grayscale), want, rtol=1e-12,
                                   err_msg=name)


def test_16_bit_is_scaled_by_255_over_65535(tmp_path):
    deep = np.random.default_rng(4).integers(0, 65536, SHAPE, dtype=np.uint16)
    deep[0, 0], deep[-1, -1] = 0, 65535
    for name in ("16.tif", "16.png", "16.pgm"):  # modes I;16 (TIFF, PNG) and I (PGM)
        Image.fromarray(deep).save(tmp_path / name)
        got = read_gray(tmp_path / name)
        np.testing.assert_allclose(got, deep * (255 / 65535), rtol=1e-15, err_msg=name)
        assert got.min() == 0 and got.max() == 255
    assert Image.open(tmp_path / "16.pgm").mode == "I"


def test_32_bit_pixels_are_refused(tmp_path):
    values = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    Image.fromarray(values.astype(np.float32)).save(tmp_path / "float.tif")
    Image.fromarray(values.astype(np.int32) * 1000).save(tmp_path / "int.tif")
    with pytest.raises(InputError, match=r"float\.tif: floating-point pixels .*mode F"):
        read_gray(tmp_path / "float.tif")
    with pytest.raises(InputError, match=r"int\.tif: integer pixels of 32 bits .*mode I\)"):
        read_gray(tmp_path / "int.tif")


def metrics_of(paths):
    rows, _ = image_metrics([(paths[0], "learn", "NORMAL"), (paths[1], "learn", "NORMAL"),
                             (paths[2], "valid", "NORMAL")])
    return np.array([np.concatenate(row[3:]) for row in rows])


def test_a_reference_judge_is_measured_against_the_others_alone(tmp_path):
    """Each NORMAL learning image's reference is the mean of the other NORMAL learning
    images; every other image's, the mean of all of them (by hand, from the pixels)."""
    pictures = [picture(seed).astype(np.float64) for seed in (1, 2, 3, 4)]
    paths = []
    for i, p in enumerate(pictures):
        paths.append(tmp_path / f"p{i}.png")
        Image.fromarray(p.astype(np.uint8)).save(paths[-1])
    images = [(str(paths[0]), "learn", "NORMAL"), (str(paths[1]), "learn", "NORMAL"),
              (str(paths[2]), "learn", "NORMAL"), (str(paths[3]), "valid", "NORMAL")]
    rows, _ = image_metrics(images, grid=(1, 2))
    labels = region_labels(pictures[0].shape, (1, 2))
    for i, others in [(0, [1, 2]), (1, [0, 2]), (2, [0, 1]), (3, [0, 1, 2])]:
        x = np.mean([pictures[j] for j in others], axis=0).ravel()
        want = soart_metrics(x, pictures[i].ravel(), labels, 2)
        for got, expected in zip(rows[i][3:], want):
            np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=str(i))


def test_one_picture_in_every_mode_gives_the_same_metrics(tmp_path):
    pictures = [picture(seed) for seed in (5, 6, 7)]  # two references, one measured
    saved = [save_all(tmp_path, f"p{i}", grey_variants(p)) for i, p in enumerate(pictures)]
    want = metrics_of([s["L.png"] for s in saved])
    assert np.all(np.isfinite(want)) and not np.allclose(want[:, :4], 1.0)
    for name in saved[0]:
        np.testing.assert_allclose(metrics_of([s[name] for s in saved]), want, rtol=1e-9,
                                   atol=1e-9, err_msg=name)
    # the case: a 16-bit TIFF and a palette PNG among 8-bit images
    mixed = [saved[0]["L.png"], saved[1]["16.tif"], saved[2]["P.png"]]
    np.testing.assert_allclose(metrics_of(mixed), want, rtol=1e-9, atol=1e-9)


def save_animated(path):
    frames = [Image.fromarray(picture(8)), Image.fromarray(picture(9))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(path).n_frames == 2


@pytest.mark.parametrize("name", ["anim.gif", "anim.png", "pages.tif", "anim.webp"])
def test_animated_images_are_refused(tmp_path, name):
    if name.endswith(".webp") and not features.check("webp"):
        pytest.skip("Pillow without WebP")
    save_animated(tmp_path / name)
    with pytest.raises(InputError, match=rf"{name}: image has 2 frames"):
        read_gray(tmp_path / name)


def test_a_multi_picture_jpeg_is_read_as_its_primary_picture(tmp_path):
    first, second = Image.fromarray(picture(17)), Image.fromarray(255 - picture(17))
    first.save(tmp_path / "phone.jpg", format="MPO", save_all=True, append_images=[second])
    with Image.open(tmp_path / "phone.jpg") as image:
        assert image.n_frames == 2 and image.mode == "L"
        primary = np.asarray(image, np.float64)  # frame 0, as Pillow decodes it
    got = read_gray(tmp_path / "phone.jpg")
    np.testing.assert_array_equal(got, primary)
    assert np.abs(got - picture(17)).mean() < np.abs(got - (255 - picture(17))).mean() / 10


def test_gif_and_webp_in_group_folders_are_read_animated_ones_refused(tmp_path):
    for folder in ("learn/NORMAL", "valid/NORMAL"):
        (tmp_path / "imgs" / folder).mkdir(parents=True)
    Image.fromarray(picture(10)).save(tmp_path / "imgs/learn/NORMAL/a.png")
    palette_image(picture(11)).save(tmp_path / "imgs/learn/NORMAL/b.gif")
    palette_image(picture(12)).save(tmp_path / "imgs/valid/NORMAL/c.gif")
    found = find_images(str(tmp_path / "imgs"), ["NORMAL"])
    assert [p.rsplit("/", 1)[1] for p, _, _ in found] == ["a.png", "b.gif", "c.gif"]
    rows, _ = image_metrics(found)
    assert len(rows) == 3
    if features.check("webp"):
        Image.fromarray(picture(13)).save(tmp_path / "imgs/valid/NORMAL/d.webp", lossless=True)
        assert len(find_images(str(tmp_path / "imgs"), ["NORMAL"])) == 4
    # an animated GIF is listed (not skipped) and refused, from a folder and a manifest
    save_animated(tmp_path / "imgs/valid/NORMAL/e.gif")
    found = find_images(str(tmp_path / "imgs"), ["NORMAL"])
    assert found[-1][0].endswith("e.gif")
    with pytest.raises(InputError, match=r"e\.gif: image has 2 frames"):
        image_metrics(found)
    (tmp_path / "manifest.csv").write_text("path,set,group\nimgs/learn/NORMAL/a.png,learn,"
                                           "NORMAL\nimgs/valid/NORMAL/e.gif,valid,NORMAL\n")
    with pytest.raises(InputError, match=r"e\.gif: image has 2 frames"):
        image_metrics(find_images(str(tmp_path / "manifest.csv"), ["NORMAL"]))


def png_bomb(path, side):
    """A valid side x side black 1-bit PNG of a few tens of KB: a decompression bomb."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))

    rows = bytes(1 + (side + 7) // 8) * 1000  # a thousand rows (filter byte, bits)
    stream = zlib.compressobj(9)
    data = b"".join(stream.compress(rows) for _ in range(side // 1000)) + stream.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", side, side, 1, 0, 0, 0, 0)) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    png_bomb(bomb, 20000)
    assert bomb.stat().st_size < 100_000
    limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(InputError, match=r"bomb\.png: image is 20000 x 20000 = 400,000,000 "
                                         r"pixels, more than the limit of 100,000,000 .*"
                                         r"config key images\.max_pixels"):
        read_gray(bomb)
    with pytest.raises(InputError, match="limit of 1,000,000 "):
        image_metrics([(bomb, "learn", "NORMAL")], max_pixels=1_000_000)
    assert Image.MAX_IMAGE_PIXELS == limit  # restored: Pillow's own check still works
    with pytest.raises(Image.DecompressionBombError):
        Image.open(bomb)


def test_max_pixels_is_ours_not_pillows(tmp_path, monkeypatch):
    Image.fromarray(picture(14)).save(tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # below the image's 768 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning either
        assert read_gray(tmp_path / "a.png", max_pixels=768).shape == SHAPE  # inclusive
    assert Image.MAX_IMAGE_PIXELS == 100
    with pytest.raises(InputError, match=r"a\.png: image is 32 x 24 = 768 pixels"):
        read_gray(tmp_path / "a.png", max_pixels=767)


def test_a_grid_finer_than_the_image(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(np.full((1, 1), 100, np.uint8)).save(tmp_path / name)
    images = [(tmp_path / "a.png", "learn", "NORMAL"), (tmp_path / "b.png", "learn", "NORMAL"),
              (tmp_path / "c.png", "valid", "NORMAL")]
    with pytest.raises(InputError, match=r"a\.png: a 1 x 1 image .* cannot be cut into a "
                                         r"2 x 2 grid of regions \(config key images\.grid"):
        image_metrics(images)
    assert len(image_metrics(images, grid=(1, 1))[0]) == 3  # one single-pixel region
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(picture(15)).save(tmp_path / name)
    with pytest.raises(InputError, match=r"a\.png: a 3 x 1 image \(width x height, after "
                                         r"cropping\) cannot be cut into a 2 x 2 grid"):
        image_metrics(images, crop=[0, 0, 1, 3])


def damaged_files(folder):
    """{name: bytes} of files Pillow fails on in different places."""
    buffers = {}
    for name in ("a.png", "a.tif", "a.gif", "a.jpg", "a.bmp"):
        Image.fromarray(picture(16)).save(folder / name)
        buffers[name] = (folder / name).read_bytes()
    tif = bytearray(buffers["a.tif"])  # the next-IFD pointer into the pixels: a bad page
    ifd = struct.unpack("<I", tif[4:8])[0]
    entries = struct.unpack("<H", tif[ifd:ifd + 2])[0]
    pixels = Image.open(folder / "a.tif").tag_v2[273][0]  # StripOffsets
    tif[ifd + 2 + 12 * entries:ifd + 6 + 12 * entries] = struct.pack("<I", pixels)
    return {"empty.png": b"", "text.gif": b"GIF89a, or not",
            **{f"truncated_{n}": b[:len(b) // 2] for n, b in buffers.items()},
            "bad_page.tif": bytes(tif)}


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's own notes on the damage
def test_damaged_files_name_the_file(tmp_path):
    for name, data in damaged_files(tmp_path).items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=rf"{name}: cannot read the image: \w+"):
            read_gray(tmp_path / name)
    with pytest.raises(InputError, match="TypeError: Missing dimensions"):  # not OSError
        read_gray(tmp_path / "bad_page.tif")
    with pytest.raises(InputError, match=r"missing\.png: file not found"):
        read_gray(tmp_path / "missing.png")


def test_luma_weights_are_bt601():
    np.testing.assert_array_equal(LUMA, [0.299, 0.587, 0.114])


def test_a_bomb_in_a_run_is_one_line_and_the_limit_is_config(tmp_path):
    """Through the workflow: one `soart: error` line naming the file and the limit,
    and `images.max_pixels` moves the limit."""
    import in_process
    from conftest import copy_workflow, write_yaml

    workdir = copy_workflow(tmp_path / "wf", tables=False)
    bomb = workdir / "resources" / "example" / "images" / "valid" / "ERROR_B" / "zz_bomb.png"
    png_bomb(bomb, 20000)
    proc = in_process.run(workdir, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stdout
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert len(errors) == 1 and "zz_bomb.png" in errors[0], proc.stdout
    assert "100,000,000" in errors[0] and "images.max_pixels" in errors[0]
    small = write_yaml(tmp_path / "small.yaml", {"images": {"max_pixels": 5000}})
    proc = in_process.run(workdir, configfiles=[small], check=False)
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    # the first image read (the reference pass) is 96 x 96 = 9,216 pixels
    assert len(errors) == 1 and "learn_NORMAL_01.png" in errors[0], proc.stdout
    assert "9,216 pixels, more than the limit of 5,000" in errors[0]
