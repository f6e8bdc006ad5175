"""CSVs as Excel writes them: UTF-8 with BOM and CRLF, or cp932 (Japanese Excel)."""

from conftest import copy_workflow, snakemake, write_yaml

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
    snakemake(workdir)
    assert attention_bytes(workdir) == attention_bytes(example_run)


def test_cp932_with_japanese_columns(example_run, tmp_path):
    workdir = copy_workflow(tmp_path)

    def japanese(text):
        lines = text.splitlines()
        lines = [lines[0] + ",備考"] + [line + ",良品検査" for line in lines[1:]]
        return ("\r\n".join(lines) + "\r\n").encode("cp932")

    rewrite(workdir, japanese)
    snakemake(workdir, "--configfile", str(write_yaml(tmp_path / "enc.yaml",
                                                      {"encoding": "cp932"})))
    assert attention_bytes(workdir) == attention_bytes(example_run)
