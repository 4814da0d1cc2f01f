"""Headless Chromium for the verifiers: pages checked as a user sees them, rendered by a browser.

Debian's `chromium` and `chromium-driver` packages (lab/tools.sh installs them on the controller),
driven by Selenium from PyPI (requirements/test.txt). Selenium Manager is never asked for anything:
the browser and the driver are named by path and SE_OFFLINE is set, so a run needs no network
besides the lab's. Each browser gets a fresh profile and a fixed viewport, so screenshots are
1280x900 PNGs whatever the machine.
"""

import contextlib
import os
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 900
# No sandbox: the verifier runs as root. The rest keeps Chromium from calling home or updating itself.
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--window-size=%d,%d" % (WIDTH, HEIGHT),
)
# Where the README's screenshots live (committed after a lab run); a run may write them elsewhere.
SCREENSHOT_DIR = Path(os.environ.get("SDSTACK_SCREENSHOT_DIR", Path(__file__).resolve().parents[4] / "docs" / "img"))
PAGE_LOAD_TIMEOUT = 30


@contextlib.contextmanager
def chromium():
    """A WebDriver for a fresh headless Chromium; quit and its profile removed on exit."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise AssertionError("%s missing: lab/tools.sh installs Debian's chromium and chromium-driver" % path)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download a browser or a driver
    os.environ["SE_AVOID_STATS"] = "true"
    profile = tempfile.mkdtemp(prefix="sdstack-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + ("--user-data-dir=" + profile,):
        options.add_argument(flag)
    driver = None
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        # --window-size sizes the window, not the page: pin the viewport so screenshots are WIDTHxHEIGHT.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """One browser per test module (starting Chromium takes a second or two)."""
    with chromium() as driver:
        yield driver


def body_text(driver):
    """The page's rendered text (what a user reads), '' while there is no body yet."""
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except WebDriverException:
        return ""


def wait_until(driver, condition, timeout, what):
    """Poll condition(driver) until truthy (WebDriverWait, with a deadline); fail naming what never
    happened and what the page showed instead."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        raise AssertionError("%s: not within %ss; %s shows: %r" % (
            what, timeout, driver.current_url, body_text(driver)[:600])) from None


def reload_until(driver, url, condition, timeout, what):
    """For server-rendered pages: reload url until condition(driver) holds."""
    def fresh(d):
        d.get(url)
        return condition(d)
    return wait_until(driver, fresh, timeout, what)


def png_size(path):
    """(width, height) from a PNG's IHDR chunk; AssertionError if the file is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "%s is not a PNG" % path
    return struct.unpack(">II", head[16:24])


def save_screenshot(driver, name):
    """Write the viewport to SCREENSHOT_DIR/name as a WIDTHxHEIGHT PNG; returns the path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / name
    assert driver.save_screenshot(str(path)), "screenshot %s not written" % path
    assert png_size(path) == (WIDTH, HEIGHT), (path, png_size(path))
    return path


def failed_assets(driver):
    """Same-page resources (scripts, styles, fonts) that answered an error status: a page that
    renders its HTML but not its assets is broken for a user too."""
    return driver.execute_script("""
        return performance.getEntriesByType('resource')
          .filter(e => e.responseStatus >= 400).map(e => e.name + ' ' + e.responseStatus);""")


# What the pages show, read from the rendered DOM.

def consul_ui_services(driver):
    """{service name: health class} from the Consul UI's services list (1.8's markup: one link to
    .../services/<name>/instances per service, beside a <dl> whose class is its health)."""
    return driver.execute_script("""
        const out = {};
        document.querySelectorAll('main a[href*="/services/"]').forEach(a => {
          const m = a.getAttribute('href').match(/\\/services\\/([^/]+)\\/instances$/);
          if (!m || a.textContent.trim() !== decodeURIComponent(m[1])) return;
          const dl = a.parentElement.querySelector('dl');
          out[a.textContent.trim()] = dl ? dl.className.trim() : '';
        });
        return out;""")


def prometheus_classic_targets(driver):
    """{job: [(scrape URL, health)]} from Prometheus's classic targets page (/classic/targets),
    one .table-container per job, one row per target."""
    pools = driver.execute_script("""
        const out = {};
        document.querySelectorAll('.table-container').forEach(c => {
          const a = c.querySelector('h2 a[id^="job-"]');
          if (!a) return;
          out[a.id.slice(4)] = Array.from(c.querySelectorAll('tbody tr')).map(tr => [
            tr.querySelector('td.endpoint a').textContent.trim(),
            tr.querySelector('td.state').textContent.trim()]);
        });
        return out;""")
    return {job: [tuple(row) for row in rows] for job, rows in pools.items()}
