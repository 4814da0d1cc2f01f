"""The seed's UIs in a browser (headless Chromium, sdstack_molecule.browser): the pages `make demo`
prints, checked as rendered for a user, not by status code. Each test saves the screenshot the
README shows (docs/img/*.png, 1280x900), only once its page is right.

Expectations come from the inventory: the exporters' service names (the shared pipeline checks'
table), Prometheus's Consul jobs from its group_vars, and their targets from the exporter hosts.
"""

from selenium.webdriver.common.by import By

from sdstack_molecule.browser import (  # noqa: F401  pylint: disable=unused-import
    browser, consul_ui_services, failed_assets, prometheus_classic_targets, reload_until, save_screenshot,
    wait_until)
from sdstack_molecule.pipeline_checks import ADDRESS, EXPORTERS, RUNNER, expected_targets

# Consul registers itself as "consul"; the seed's exporters register under these names.
CONSUL_SERVICES = frozenset({e["service"] for e in EXPORTERS.values()} | {"consul"})
# The lab's Prometheus is Debian's 2.24.1 build: it serves only the classic UI (its assets come from
# /usr/share/prometheus/web, which the lab image provides). The upstream release's page is /targets.
PROMETHEUS_TARGETS_PAGE = "/classic/targets"


def _address(group):
    hosts = RUNNER.get_hosts(group)
    assert hosts, "no host in inventory group %s" % group
    return ADDRESS[hosts[0]]


def test_consul_ui_through_nginx_lists_the_registered_services_passing(browser):  # pylint: disable=redefined-outer-name
    base = "http://%s" % _address("consul_lb")

    def listed(driver):
        shown = consul_ui_services(driver)
        return shown if all(shown.get(s) == "passing" for s in CONSUL_SERVICES) else None

    browser.get(base + "/ui/")
    # The UI is a JavaScript app: the list exists only once it has asked the API through nginx.
    shown = wait_until(browser, listed, 60, "Consul UI at %s/ui/ lists %s as passing" % (base, sorted(CONSUL_SERVICES)))
    assert CONSUL_SERVICES <= set(shown), shown
    # Consul's redirects are relative: the user is still on nginx, in the UI.
    assert browser.current_url.startswith(base + "/ui/"), browser.current_url
    assert failed_assets(browser) == []
    save_screenshot(browser, "consul-ui.png")


def test_prometheus_targets_page_shows_every_consul_job_with_its_targets_up(browser):  # pylint: disable=redefined-outer-name
    prometheus = RUNNER.get_hosts("prometheus")[0]
    jobs = [j["job_name"] for j in RUNNER.get_variables(prometheus)["prometheus_consul_jobs"]]
    assert jobs, "no prometheus_consul_jobs in the inventory"
    urls = {}
    for job, url in expected_targets():
        urls.setdefault(job, set()).add(url)
    page = "http://%s:9090%s" % (ADDRESS[prometheus], PROMETHEUS_TARGETS_PAGE)

    def all_up(driver):
        pools = prometheus_classic_targets(driver)
        for job in jobs:
            rows = pools.get(job)
            if not rows or any(health != "up" for _url, health in rows):
                return None
            if not urls.get(job, set()) <= {url for url, _health in rows}:
                return None
        return pools

    # Server-rendered: states change only on reload; the first scrape comes one interval after discovery.
    pools = reload_until(browser, page, all_up, 120,
                         "%s shows jobs %s with every target up and %s listed" % (page, jobs, urls))
    assert set(jobs) <= set(pools), pools
    # The page's own script ran (jQuery and targets.js served from the web assets): it marks the
    # "All" filter active. A page whose HTML renders without its assets fails here.
    toggle = browser.find_element(By.CSS_SELECTOR, "#all-targets").find_element(By.XPATH, "..")
    assert "active" in toggle.get_attribute("class").split(), toggle.get_attribute("outerHTML")
    assert failed_assets(browser) == []
    save_screenshot(browser, "prometheus-targets.png")
