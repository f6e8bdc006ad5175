"""One soart line, no traceback, no hang, no injection: a results/ that cannot be
written, a FIFO among the images, markup in a path or an id."""

import os

import pytest

from conftest import copy_workflow, snakemake
from soart_core.errors import InputError
from soart_core.images import find_images
from soart_core.inputs import read_metric_table

ORDER = ["NORMAL", "ERROR_A"]


def test_a_config_in_force_that_cannot_be_written_is_one_line(tmp_path):
    """The onstart write of results/config.yaml (a folder there, as a read-only or
    full results/ would refuse it): one line naming it, exit 1."""
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "results" / "config.yaml").mkdir(parents=True)
    proc = snakemake(workdir, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout, proc.stdout
    errors = [line for line in proc.stdout.splitlines() if line.startswith("soart: error")]
    assert errors == ["soart: error: results/config.yaml: Is a directory"]


def image_folders(root):
    for folder in ("learn/NORMAL", "learn/ERROR_A", "valid/NORMAL"):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.png").write_bytes(b"not read while listing")
    return root


def test_a_fifo_named_as_an_image_is_refused_not_read(tmp_path):
    root = image_folders(tmp_path / "images")
    os.mkfifo(root / "valid" / "NORMAL" / "pipe.png")
    with pytest.raises(InputError, match=r"pipe\.png: not a regular file \(a folder, a "
                                         r"FIFO or a device\)"):
        find_images(str(root), ORDER)


@pytest.mark.parametrize("name", ["</script><img src=x onerror=alert(1)>.png", "a<b.png"])
def test_markup_in_an_image_path_is_refused(tmp_path, name):
    root = image_folders(tmp_path / "images")
    (root / "valid" / name.replace("/", "_")).write_bytes(b"x")
    with pytest.raises(InputError, match="which the report's HTML would read as markup"):
        find_images(str(root), ORDER)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"path,set,group\nimages/learn/NORMAL/a.png,learn,NORMAL\n"
                        f"{name},valid,\n", encoding="utf-8")
    with pytest.raises(InputError, match="which the report's HTML would read as markup"):
        find_images(str(manifest), ORDER)


def test_markup_in_a_row_id_is_refused(tmp_path):
    table = tmp_path / "valid.csv"
    table.write_text("image,X0,X1\nok.png,0.5,0.6\n<b>x</b>.png,0.4,0.7\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3, column 'image': id '<b>x</b>\.png' holds "
                                         r"< or >"):
        read_metric_table(table, "auto", group_column="class", order=ORDER,
                          id_column="image", counts=[1, 1], unlabeled=True)
