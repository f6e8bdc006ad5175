"""README's two commands are the ones CI and users run; README starts where a user
starts, and its links to docs/ lead somewhere."""

import re

from conftest import ROOT


def readme_commands():
    return re.findall(r"```\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_ci_runs_the_readmes_test_command():
    setup_run, test = readme_commands()
    assert test.endswith("pytest -q") and "snakemake --cores 2" in setup_run
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_a_user_finds_the_answer_within_150_lines():
    """What soart answers, the two commands, your own images, your own tables, a batch
    of new images and where its answer is: all in README's first 150 lines."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    head = "\n".join(lines[:150])
    for heading in ("## Where the answer is", "## Your own images", "## Your own tables",
                    "## A batch of new images"):
        assert f"\n{heading}\n" in head, heading
    for command in (*readme_commands(),
                    "snakemake --cores 2 --config images_dir=/path/to/images",
                    "snakemake --cores 2 --config images_dir=null data_dir=/path/to/tables"):
        assert f"\n{command}\n" in head, command
    batch = head.split("## A batch of new images", 1)[1]
    assert "results/verdicts/summary.csv" in batch  # where its answer is


def test_readme_and_docs_links_resolve():
    """Every relative link in README and docs/ names a file that exists (docs/
    performance.md excepted: another change writes it)."""
    pending = {"docs/performance.md"}
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = document.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            path = (document.parent / target).resolve()
            assert path.exists() or path.relative_to(ROOT).as_posix() in pending, \
                f"{document.name}: {target}"


def test_the_configuration_is_documented_once():
    """config.yaml's comments point to docs/configuration.md instead of repeating it;
    README has no table of keys."""
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert "docs/configuration.md" in config.splitlines()[0]
    assert max(len(c) for c in re.findall(r"#[^\n]*", config)) < 100
    comment_lines = [line for line in config.splitlines() if line.lstrip().startswith("#")]
    assert len(comment_lines) < 15
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `threshold.learn.cutoff`" not in readme and "docs/configuration.md" in readme
