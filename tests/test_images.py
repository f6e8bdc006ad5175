"""The metrics stage: the formulas on tiny arrays, the guards, and bad images."""

import shutil

import numpy as np
import pytest
from PIL import Image

import in_process
from conftest import ROOT, assert_csv_close, copy_workflow, read_csv_cells
from soart_core.errors import InputError
from soart_core.images import find_images, read_gray, region_labels, soart_metrics

ORDER = ["NORMAL", "ERROR_A", "ERROR_B"]


def one_region(x, y, **kwargs):
    x, y = np.asarray(x, float), np.asarray(y, float)
    beta, eta, gamma = soart_metrics(x, y, np.zeros(len(x), int), 1, **kwargs)
    return beta[0], eta[0], gamma[0]


def test_formulas_by_hand():
    # x = (1, 2), y = (2, 3): x.x = 5, x.y = 8, y.y = 13
    beta, eta, gamma = one_region([1, 2], [2, 3], sn_ratio="ratio")
    assert beta == pytest.approx(8 / 5)
    s_beta = 64 / 5
    assert eta == pytest.approx(s_beta / (13 - s_beta))  # 12.8 / 0.2 = 64
    # kappa = mean|y| / mean|beta x| = 2.5 / (1.6 * 1.5) = 2.5 / 2.4
    kappa = 2.5 / 2.4
    expected = np.mean(np.abs(np.array([2, 3]) - 1.6 * kappa * np.array([1, 2])))
    assert gamma == pytest.approx(expected)
    assert one_region([1, 2], [2, 3])[1] == pytest.approx(10 * np.log10(64))


def test_the_reference_itself():
    x = np.array([3.0, 5.0, 7.0, 2.0])
    beta, eta, gamma = one_region(x, x, sn_max_db=100.0)
    assert beta == pytest.approx(1.0) and gamma == pytest.approx(0.0, abs=1e-12)
    assert eta == 100.0  # S_e = 0: the guard's cap


def test_guards():
    # a black reference region: beta 0, eta at the floor, gamma = mean|y|
    assert one_region([0, 0], [2, 4], sn_max_db=50.0) == (0.0, -50.0, 3.0)
    assert one_region([0, 0], [2, 4], sn_ratio="ratio")[1] == 0.0
    # an image exactly proportional to the reference: S_e = 0
    assert one_region([1, 2, 3], [2, 4, 6], sn_ratio="ratio", sn_max_db=30.0)[1] == 1e3
    # a single pixel: beta = y / x, always proportional, gamma 0
    beta, eta, gamma = one_region([4.0], [2.0], sn_max_db=60.0)
    assert (beta, eta, gamma) == (0.5, 60.0, 0.0)
    # an image orthogonal to the reference: S_beta = 0 -> eta at the floor
    assert one_region([1, 0], [0, 1], sn_max_db=40.0)[:2] == (0.0, -40.0)


def test_regions_are_row_major_and_cover_every_pixel():
    labels = region_labels((5, 7), (2, 3)).reshape(5, 7)
    assert labels[0, 0] == 0 and labels[0, -1] == 2 and labels[-1, 0] == 3
    assert labels[-1, -1] == 5 and set(np.unique(labels)) == set(range(6))
    x = np.arange(35.0)
    beta, _, _ = soart_metrics(x, 2 * x, region_labels((5, 7), (2, 3)), 6)
    np.testing.assert_allclose(beta[1:], 2.0)  # region 0 holds pixel 0 = 0 too, still 2


def test_read_gray_16_bit_tiff_and_colour(tmp_path):
    values = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    Image.fromarray(values).save(tmp_path / "deep.tif")
    grey = values * (255 / 65535)  # 16 bits on the 8-bit scale
    np.testing.assert_allclose(read_gray(tmp_path / "deep.tif"), grey, rtol=1e-15)
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = 100
    Image.fromarray(rgb).save(tmp_path / "red.png")
    np.testing.assert_allclose(read_gray(tmp_path / "red.png"), 29.9)
    np.testing.assert_allclose(read_gray(tmp_path / "red.png", "mean"), 100 / 3)
    np.testing.assert_allclose(read_gray(tmp_path / "deep.tif", crop=[1, 1, 2, 2]),
                               grey[1:3, 1:3], rtol=1e-15)


# The committed tables were made on another machine: numpy's SIMD log10 (the SN ratio
# in dB) may differ there in the last digit, so compare at a relative 1e-12.
ACROSS_MACHINES = 1e-12


def test_the_example_tables_are_what_the_images_give(images_run):
    for name in ("learn_btY1_gs_class.csv", "learn_snY2_gs_class.csv", "valid_btY1_gs.csv",
                 "valid_snY2_gs.csv", "valid_gmY3_gs.csv"):
        assert_csv_close(images_run / "results" / "metrics" / name,
                         ROOT / "resources" / "example" / name, rtol=ACROSS_MACHINES)


def test_images_chain_equals_the_tables_chain(images_run, example_run):
    """The images' chain and the committed tables' chain: the same attention, but for
    the item ids (image paths vs generated names) and, as a metric may differ in its
    last digit (above), a value that lands on a 5th-decimal rounding boundary."""
    for metric in ("Y1", "Y2", "Y3"):
        _, ours, ours_n = read_csv_cells(images_run / "results" / "attention" / f"{metric}.csv")
        _, theirs, theirs_n = read_csv_cells(
            example_run / "results" / "attention" / f"{metric}.csv")
        assert [row[1] for row in ours] == [row[1] for row in theirs]  # the groups
        difference = np.abs(np.array([r[2:] for r in ours_n]) -
                            np.array([r[2:] for r in theirs_n]))
        assert difference.max() <= 1.0000001e-5  # at most one unit of the last decimal


def images_copy(tmp_path):
    workdir = copy_workflow(tmp_path, tables=False)
    return workdir, workdir / "resources" / "example" / "images"


def test_corrupt_image_names_the_file(tmp_path):
    workdir, images = images_copy(tmp_path)
    bad = images / "valid" / "ERROR_B" / "valid_ERROR_B_04.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    proc = in_process.run(workdir, check=False)
    assert proc.returncode == 1
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert len(errors) == 1 and "valid_ERROR_B_04.png" in errors[0]
    assert "cannot read the image" in errors[0]
    assert not (workdir / "results" / "metrics").exists() or \
        not list((workdir / "results" / "metrics").iterdir())


def test_images_of_different_sizes(tmp_path):
    workdir, images = images_copy(tmp_path)
    odd = images / "valid" / "NORMAL" / "valid_NORMAL_03.png"
    Image.open(odd).crop((0, 0, 90, 96)).save(odd)
    proc = in_process.run(workdir, check=False)
    assert proc.returncode == 1
    assert "valid_NORMAL_03.png: image is 90 x 96 pixels" in proc.stdout
    assert "all images must have one size" in proc.stdout


def test_empty_group_folder(tmp_path):
    workdir, images = images_copy(tmp_path)
    for path in (images / "learn" / "ERROR_A").iterdir():
        path.unlink()
    proc = in_process.run(workdir, check=False)
    assert proc.returncode == 1
    assert "learn/ERROR_A: no images" in proc.stdout


def test_find_images_from_a_manifest(tmp_path):
    shutil.copytree(ROOT / "resources" / "example" / "images", tmp_path / "imgs")
    lines = ["path,set,group"] + [
        f"imgs/{set_}/{group}/{set_}_{group}_01.png,{set_},{group}"
        for set_ in ("valid", "learn") for group in ORDER]
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    found = find_images(str(tmp_path / "manifest.csv"), ORDER)
    assert [(s, g) for _, s, g in found] == [(s, g) for s in ("learn", "valid") for g in ORDER]
    (tmp_path / "manifest.csv").write_text("path,set,group\nx.png,test,NORMAL\n")
    with pytest.raises(InputError, match="line 2, column 'set': set 'test'"):
        find_images(str(tmp_path / "manifest.csv"), ORDER)
