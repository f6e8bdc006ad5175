"""CSVs as Excel writes them: UTF-8 with BOM and CRLF, or cp932 (Japanese Excel). Each
runs the stages up to the attention in this process (tests/in_process.py) and compares
with the example's run by Snakemake."""

import in_process
from conftest import copy_workflow, write_yaml

EXAMPLE = "resources/example"


def rewrite(workdir, transform):
    for path in (workdir / EXAMPLE).glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        path.write_bytes(transform(text))


def attention_bytes(workdir):
    return {p.name: p.read_bytes() for p in (workdir / "results" / "attention").glob("*.csv")}


def test_bom_and_crlf_give_the_same_results(example_run, tmp_path):
    workdir = copy_workflow(tmp_path)
    rewrite(workdir, lambda t: "\ufeff".encode() + t.replace("\n", "\r\n").encode())
    in_process.run(workdir, "attention")
    assert attention_bytes(workdir) == attention_bytes(example_run)


def test_cp932_with_japanese_columns(example_run, tmp_path):
    workdir = copy_workflow(tmp_path)

    def japanese(text):
        lines = text.splitlines()
        lines = [lines[0] + ",備考"] + [line + ",良品検査" for line in lines[1:]]
        return ("\r\n".join(lines) + "\r\n").encode("cp932")

    rewrite(workdir, japanese)
    in_process.run(workdir, "attention",
                   configfiles=[write_yaml(tmp_path / "enc.yaml", {"encoding": "cp932"})])
    assert attention_bytes(workdir) == attention_bytes(example_run)


def separated(text, sep, decimal):
    """The comma file's lines with another separator and decimal mark (in numbers only:
    ids are file names with dots)."""
    def cell(value):
        number = value[:1].isdigit() or value[:1] == "-"
        return value.replace(".", decimal) if number else value

    lines = text.splitlines()
    return [lines[0].replace(",", sep)] + [sep.join(cell(v) for v in line.split(","))
                                           for line in lines[1:]]


def european(text):
    """As European Excel saves a CSV: semicolons, decimal commas, CRLF, a BOM."""
    return "\ufeff".encode() + ("\r\n".join(separated(text, ";", ",")) + "\r\n").encode()


def unicode_text(text, decimal="."):
    """As Excel's "Unicode text": tab-separated UTF-16 with a BOM."""
    lines = separated(text, "\t", decimal)
    return ("\r\n".join(lines) + "\r\n").encode("utf-16")  # BOM + little-endian here


def test_european_semicolons_and_decimal_commas(example_run, tmp_path):
    workdir = copy_workflow(tmp_path)
    rewrite(workdir, european)
    assert b";0,93" in (workdir / EXAMPLE / "valid_btY1_gs.csv").read_bytes()
    in_process.run(workdir, "attention")
    assert attention_bytes(workdir) == attention_bytes(example_run)


def test_unicode_text_tab_separated_utf16(example_run, tmp_path):
    workdir = copy_workflow(tmp_path)
    rewrite(workdir, unicode_text)
    in_process.run(workdir, "attention")
    assert attention_bytes(workdir) == attention_bytes(example_run)
    log = (workdir / "results" / "logs" / "normalise.log").read_text()
    assert "features ('auto'): X0, X1, X2, X3" in log


def test_unicode_text_with_decimal_commas_and_a_set_delimiter(example_run, tmp_path):
    workdir = copy_workflow(tmp_path)
    rewrite(workdir, lambda t: unicode_text(t, decimal=","))
    in_process.run(workdir, "attention", config=["delimiter=tab", "decimal=,"])
    assert attention_bytes(workdir) == attention_bytes(example_run)


def failure(workdir):
    proc = in_process.run(workdir, check=False)
    assert proc.returncode != 0
    errors = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert len(errors) == 1, proc.stdout
    assert not (workdir / "results" / "normalise").exists()
    return errors[0]


def test_a_header_with_two_separators_names_the_setting(tmp_path):
    workdir = copy_workflow(tmp_path)
    path = workdir / EXAMPLE / "valid_btY1_gs.csv"
    path.write_text(path.read_text().replace("image,X0", "image;note,X0", 1))
    error = failure(workdir)
    assert f"{EXAMPLE}/valid_btY1_gs.csv, line 1: the header holds both ',' and ';'" in error
    assert "set `delimiter` in config.yaml" in error


def test_mixed_decimal_marks_name_the_setting(tmp_path):
    workdir = copy_workflow(tmp_path)
    rewrite(workdir, european)
    path = workdir / EXAMPLE / "learn_snY2_gs_class.csv"
    text = path.read_bytes().decode("utf-8-sig").replace(",", ".", 1)  # one '1.5'
    path.write_bytes(text.encode("utf-8"))
    error = failure(workdir)
    assert f"{EXAMPLE}/learn_snY2_gs_class.csv: numbers with both decimal marks" in error
    assert "set `decimal` in config.yaml" in error


# ---- manifests as Excel saves them, and soart's own files whatever `encoding` ---------
def manifest_workdir(tmp_path, sep, encoding):
    """The shipped workflow (images) with a manifest of the example's images, their
    group names in Japanese, saved with `sep` in `encoding`; a config naming it."""
    workdir = copy_workflow(tmp_path / "wf", tables=False)
    images = workdir / "resources" / "example" / "images"
    names = {"NORMAL": "良品", "ERROR_A": "不良A", "ERROR_B": "汚れ"}
    lines = [sep.join(["path", "set", "group"])]
    for path in sorted(images.rglob("*.png")):
        set_name, group = path.parent.parent.name, path.parent.name
        lines.append(sep.join([str(path.relative_to(images)), set_name, names[group]]))
    (images / "manifest.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    config = write_yaml(workdir / "my.yaml", {
        "images_dir": "resources/example/images/manifest.csv", "encoding": encoding,
        "groups": {"order": list(names.values())}})
    return workdir, config


def test_a_cp932_manifest_and_cp932_kept_for_soarts_own_tables(example_run, tmp_path):
    """Japanese Excel's CSV (cp932, CRLF) as the manifest; `encoding: cp932` reads it,
    and soart still reads its own UTF-8 tables as UTF-8: the same attention as the
    example's."""
    workdir, config = manifest_workdir(tmp_path, ",", "cp932")
    in_process.run(workdir, "attention", configfiles=[config])
    for metric in ("Y1", "Y2", "Y3"):
        ours = (workdir / "results" / "attention" / f"{metric}.csv").read_text()
        theirs = (example_run / "results" / "attention" / f"{metric}.csv").read_text()
        assert ours.splitlines()[0] == theirs.splitlines()[0]  # the judges, in order
        assert [l.split(",")[2:] for l in ours.splitlines()[1:]] == \
            [l.split(",")[2:] for l in theirs.splitlines()[1:]]


def test_a_semicolon_manifest(tmp_path):
    workdir, config = manifest_workdir(tmp_path, ";", "utf-8-sig")
    in_process.run(workdir, "normalise", configfiles=[config])
    assert (workdir / "results" / "normalise" / "items.csv").read_text(
        encoding="utf-8").count("不良A") == 10


def test_a_manifest_in_the_wrong_encoding_is_one_line(tmp_path):
    workdir, config = manifest_workdir(tmp_path, ",", "cp932")
    text = config.read_text(encoding="utf-8").replace("encoding: cp932", "encoding: utf-8-sig")
    config.write_text(text, encoding="utf-8")
    proc = in_process.run(workdir, "normalise", configfiles=[config], check=False)
    assert proc.returncode == 1
    [line] = [l for l in proc.stdout.splitlines() if l.startswith("soart: error")]
    assert "manifest.csv, line 2: cannot be decoded as 'utf-8-sig'" in line and "cp932" in line
