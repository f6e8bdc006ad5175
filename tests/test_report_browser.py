"""The report in a real browser: README's first run and report command, opened in
headless Chromium at a laptop's and a desktop's screen size. The first screen shows
the answer's heading and its first flagged image; scrolled to the top, nothing is above
the top edge (Snakemake's landing page centres its content in a screen-high box, so a
long front page used to overflow it upwards, out of reach).

Opt-in: it installs Debian's chromium (apt-get, as root) and Playwright for Python
(pip, which drives /usr/bin/chromium and downloads no browser of its own) with
ci/browser-up.sh, which a user's plain `pytest -q` must never do. Run it with
SOART_TEST_BROWSER=1 (.ci/run does); even then it is skipped, with the reason, where
they cannot be installed. Each screenshot is kept beside the report it shows
(results/report-{width}x{height}.png in the test's scratch copy).
"""

import csv
import os
import subprocess
import sys

import pytest

from conftest import ROOT, copied_run, snakemake
from test_report_tables import japanese_run  # noqa: F401 (a fixture: 良品 / 不良A / 汚れ, a sweep)

OPT_IN = "SOART_TEST_BROWSER"
SCREENS = [(1366, 768), (1920, 1080)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

# In the page: every scroll box and the window scrolled to the top, then where the
# answer's heading, its table and its first flagged row are, and the highest top edge
# of any element with a size (negative: above the top edge, out of reach).
MEASURE = """(item) => {
  for (const el of document.querySelectorAll('*')) { el.scrollTop = 0; }
  window.scrollTo(0, 0);
  const box = el => el.getBoundingClientRect();
  let highest = Infinity, which = '';
  for (const el of document.body.querySelectorAll('*')) {
    const r = box(el);
    if (r.width > 0 && r.height > 0 && r.top < highest) {
      highest = r.top; which = el.tagName + '.' + el.className;
    }
  }
  const rubric = [...document.querySelectorAll('p.rubric')]
    .find(p => p.textContent.startsWith('The answer'));
  const table = document.querySelector('table.soart-table');
  const row = [...table.querySelectorAll('tr')]
    .find(tr => tr.cells[0] && tr.cells[0].textContent.trim() === item);
  return {highest: highest, which: which, heading: rubric ? box(rubric).top : null,
          table_width: box(table).width, row_top: row ? box(row).top : null,
          row_bottom: row ? box(row).bottom : null, height: window.innerHeight};
}"""


@pytest.fixture(scope="module")
def browser():
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"opt-in: set {OPT_IN}=1 to run it; it installs chromium with "
                    f"apt-get and playwright with pip (ci/browser-up.sh)")
    up = subprocess.run(["bash", str(ROOT / "ci" / "browser-up.sh"), sys.executable],
                        capture_output=True, text=True, timeout=900)
    if up.returncode == 3:
        pytest.skip(f"no browser here: {up.stderr.strip()}")
    assert up.returncode == 0, up.stdout + up.stderr
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def example_report(images_run, tmp_path_factory):
    """README's first command's results and README's report command, as typed."""
    workdir = copied_run(images_run, tmp_path_factory.mktemp("browser") / "run")
    snakemake(workdir, "--report", "results/report.html")
    return workdir / "results"


@pytest.fixture(params=["example", "japanese names and a sweep"])
def report(request):
    """The example's report, and one with Japanese group names and a sweep's ranking
    (tests/test_report_tables.py's run and report)."""
    if request.param == "example":
        return request.getfixturevalue("example_report")
    return request.getfixturevalue("japanese_run") / "results"


def first_flagged(results):
    with open(results / "verdicts" / "answer.csv", encoding="utf-8-sig", newline="") as f:
        return next(row["item"] for row in csv.DictReader(f) if row["flag"] == "abnormal")


@pytest.mark.parametrize("width,height", SCREENS)
def test_the_report_opens_on_the_answer(browser, report, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto((report / "report.html").as_uri())
        page.wait_for_selector("table.soart-table", timeout=60_000)
        page.keyboard.press("Home")
        item = first_flagged(report)
        at = page.evaluate(MEASURE, item)
        page.screenshot(path=str(report / f"report-{width}x{height}.png"))
        assert page.locator("p.rubric", has_text="The answer").count() == 1
    finally:
        page.close()
    assert at["highest"] >= -1, f"above the top edge, out of reach: {at}"
    assert at["heading"] is not None and 0 <= at["heading"] < height, at
    # the first flagged image's row whole on the first screen, without scrolling
    assert at["row_top"] is not None and 0 <= at["row_top"] and \
        at["row_bottom"] <= height, at
    # the table takes the page's width, not Snakemake's 32rem (512 px) text column
    assert at["table_width"] > 700, at
