#!/usr/bin/env python3
"""The HTML report in headless Chromium (run by tests/html-browser.sh).

For samples/demo.pcap and a few kernel captures, tcplens writes the HTML
and the JSON report in one run; the page, loaded from a file:// URL, must
log no console error and fetch nothing; opened page by page, it must hold
one ladder per connection of the JSON report, each with one arrow per
packet of the connection's timeline, in order and in the right direction,
its anomalies, its Wireshark filter and its states at end. On demo.pcap
the list is sorted and filtered through the page's own controls, and a
screenshot with every ladder open is saved. A capture named like markup,
read with a filter holding < > &, must not get markup into the page.
Prints TAP.
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        UnexpectedAlertPresentException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

EVIL = '"><img src=x onerror=alert(1)>.pcap'
EVIL_FILTER = "tcp and (len < 65536 or tcp[13] & 0x12 > 0)"


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def ok(self, cond, what, detail=""):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        if not cond:
            self.failed += 1
            for line in str(detail).splitlines()[:30]:
                print("#   " + line)
        return cond

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def report(args, name, inputs, extra=(), cwd=None):
    """Runs tcplens once for both reports; returns (page path, JSON doc)."""
    page = os.path.join(args.tmp, name + ".html")
    doc = os.path.join(args.tmp, name + ".json")
    cmd = [args.tcplens]
    for i in inputs:
        cmd += ["-r", i]
    cmd += ["--html", page, "--json", doc] + list(extra)
    r = subprocess.run(cmd, cwd=cwd, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.decode()))
    with open(doc) as f:
        return page, json.load(f)


def browser(args):
    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    # Root (CI) needs --no-sandbox; /dev/shm is small in containers.
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--hide-scrollbars"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(args.driver), options=opts)


def take_alert(d):
    """The text of an alert the page raised (dismissed), or None."""
    try:
        alert = d.switch_to.alert
        text = alert.text
        alert.dismiss()
        return text
    except NoAlertPresentException:
        return None


def load(d, path):
    """Loads the page; returns its SEVERE console entries and the text of
    an alert it raised (None when none)."""
    try:
        d.get(pathlib.Path(path).resolve().as_uri())
    except UnexpectedAlertPresentException:
        pass
    alert = take_alert(d)
    for _ in range(200):
        if d.execute_script("return document.body && document.body.getAttribute('data-ready')"):
            break
        time.sleep(0.05)
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"], alert


def js(d, body, *args):
    return d.execute_script(body, *args)


def row_ids(d):
    return js(d, "return [...document.querySelectorAll('#conns tbody tr.row')]"
                 ".map(tr => +tr.getAttribute('data-id'))")


def set_filter(d, text):
    js(d, "var f = document.getElementById('filter'); f.value = arguments[0];"
          "f.dispatchEvent(new Event('input'));", text)
    time.sleep(0.05)


# What each open ladder shows, read from the DOM.
LADDERS = """
return [...document.querySelectorAll('svg.ladder')].map(function (svg) {
  var id = svg.getAttribute('data-conn'), det = svg.closest('tr.detail');
  var row = document.getElementById('c' + id);
  return {
    id: +id,
    arrows: [...svg.querySelectorAll('.arrow')].map(a => [a.getAttribute('data-dir'),
                                                          +a.getAttribute('data-pkt')]),
    marks: svg.querySelectorAll('.mark').length,
    anomalies: det.querySelectorAll('ol.anomalies > li').length,
    filter: det.querySelector('.facts code').textContent,
    states: row.cells[8].textContent
  };
});
"""


def all_ladders(d):
    """Opens every connection, page by page; returns what the ladders show."""
    seen = []
    js(d, "document.getElementById('collapse-all').click()")
    while True:
        js(d, "document.getElementById('expand-all').click()")
        seen += js(d, LADDERS)
        if js(d, "return document.getElementById('next').disabled"):
            return seen
        js(d, "document.getElementById('next').click()")


def check_ladders(t, d, name, doc):
    ladders = all_ladders(d)
    conns = {c["id"]: c for c in doc["connections"]}
    t.ok(sorted(l["id"] for l in ladders) == sorted(conns),
         "%s: one ladder per connection (%d)" % (name, len(conns)),
         "ladders %s" % [l["id"] for l in ladders])
    wrong = []
    for l in ladders:
        c = conns.get(l["id"])
        if c is None:
            continue
        want = [["c2s" if e["dir"] == "client>server" else "s2c", e["packet"]]
                for e in c["timeline"] if "dir" in e]
        if l["arrows"] != want:
            wrong.append("connection %d arrows %s, timeline %s" % (c["id"], l["arrows"], want))
        if l["anomalies"] != len(c["anomalies"]):
            wrong.append("connection %d: %d anomalies listed" % (c["id"], l["anomalies"]))
        pkts = {e["packet"] for e in c["timeline"] if "packet" in e}
        if any(set(a["packets"]) & pkts for a in c["anomalies"]) and l["marks"] == 0:
            wrong.append("connection %d: no anomaly mark" % c["id"])
        if l["filter"] != c["wireshark_filter"]:
            wrong.append("connection %d filter %s" % (c["id"], l["filter"]))
        states = "%s / %s" % (c["states_at_end"]["client"], c["states_at_end"]["server"])
        if l["states"] != states:
            wrong.append("connection %d states %s" % (c["id"], l["states"]))
    t.ok(not wrong, "%s: arrows, anomalies, filters and states match the JSON report" % name,
         "\n".join(wrong))


def check_page(t, d, name, path, doc):
    severe, alert = load(d, path)
    t.ok(not severe and alert is None, "%s: no console error" % name, (severe, alert))
    fetched = js(d, "return performance.getEntriesByType('resource').map(e => e.name)")
    t.ok(not fetched, "%s: nothing fetched" % name, fetched)
    check_ladders(t, d, name, doc)
    severe = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    t.ok(not severe, "%s: no console error with every ladder drawn" % name, severe)


def column(d, i):
    return js(d, "return [...document.querySelectorAll('#conns tbody tr.row')]"
                 ".map(tr => tr.cells[arguments[0]].textContent)", i)


def check_controls(t, d, doc):
    """Sorting and filtering on demo.pcap, through the page's controls."""
    js(d, "document.getElementById('collapse-all').click()")
    head = d.find_elements(By.CSS_SELECTOR, "#conns thead th button")
    dur = [b for b in head if b.text.startswith("duration")][0]
    dur.click()
    got = [float(v) for v in column(d, 4)]
    t.ok(got == sorted(got) and len(got) == len(doc["connections"]),
         "sort: duration ascending", got)
    dur.click()
    got = [float(v) for v in column(d, 4)]
    t.ok(got == sorted(got, reverse=True), "sort: duration descending", got)
    t.ok(js(d, "return arguments[0].parentNode.getAttribute('aria-sort')", dur) == "descending",
         "sort: the header says so")
    [b for b in head if b.text == "#"][0].click()
    t.ok(row_ids(d) == sorted(c["id"] for c in doc["connections"]), "sort: back by id")

    def ids_where(pred):
        return [c["id"] for c in doc["connections"] if pred(c)]

    set_filter(d, "refused")
    t.ok(row_ids(d) == ids_where(lambda c: any(a["type"] == "refused" for a in c["anomalies"])),
         "filter: by anomaly type", row_ids(d))
    set_filter(d, "127.0.0.1:8084 TIME_WAIT")
    t.ok(row_ids(d) == ids_where(lambda c: c["server"]["port"] == 8084 and
                                 any(a["type"] == "time_wait" for a in c["anomalies"])),
         "filter: every word must match", row_ids(d))
    set_filter(d, "no-such-connection")
    t.ok(row_ids(d) == [] and "no connection" in d.find_element(By.ID, "page").text,
         "filter: nothing matches")
    set_filter(d, "")
    d.find_element(By.ID, "only-bad").click()
    t.ok(row_ids(d) == ids_where(lambda c: any(a["severity"] != "info" for a in c["anomalies"])),
         "filter: with warnings or errors only", row_ids(d))
    d.find_element(By.ID, "only-bad").click()
    t.ok(len(row_ids(d)) == len(doc["connections"]), "filter: cleared")
    js(d, "document.querySelector('#anomaly-counts [data-filter=\"rst_instead_of_fin\"]').click()")
    t.ok(row_ids(d) == ids_where(lambda c: any(a["type"] == "rst_instead_of_fin"
                                               for a in c["anomalies"])),
         "summary: an anomaly type filters the list", row_ids(d))
    js(d, "location.hash = '#c4'")
    time.sleep(0.1)
    t.ok(js(d, "return !!document.querySelector('tr.row.open#c4') && "
               "!!document.querySelector('svg.ladder[data-conn=\"4\"]')"),
         "link #c4: clears the filter and opens connection 4")


def check_services(t, d, doc):
    """The services table sorts by a header's click, numbers by value."""
    def col(i):
        return js(d, "return [...document.querySelectorAll('#svc-table tbody tr')]"
                     ".map(tr => tr.cells[arguments[0]].getAttribute('data-v'))", i)
    heads = d.find_elements(By.CSS_SELECTOR, "#svc-table thead th")
    t.ok(len(col(0)) == len(doc["services"]), "services: a row per service", col(0))
    conns = [h for h in heads if h.text == "conns"][0]
    d.execute_script("arguments[0].scrollIntoView()", conns)
    conns.click()
    got = [int(v) for v in col(1)]
    want = sorted((s["connections"] for s in doc["services"]), reverse=True)
    t.ok(got == want, "services: connections, most first", got)
    conns.click()
    got = [int(v) for v in col(1)]
    t.ok(got == sorted(want), "services: and the other way", got)
    t.ok(conns.get_attribute("aria-sort") == "ascending", "services: the header says so")
    heads[0].click()
    got = [int(v) for v in col(0)]
    by_name = sorted(doc["services"], key=lambda s: "%s:%d" % (s["server"]["ip"],
                                                              s["server"]["port"]))
    t.ok(got == [s["first_connection"] for s in by_name], "services: by name", got)


def screenshot(t, d, path):
    js(d, "location.hash = ''")
    set_filter(d, "")
    js(d, "document.getElementById('expand-all').click(); window.scrollTo(0, 0)")
    height = js(d, "return document.documentElement.scrollHeight")
    d.set_window_size(1400, min(height + 20, 16000))
    time.sleep(0.2)
    d.save_screenshot(path)
    t.ok(os.path.getsize(path) > 10000, "screenshot saved: %s" % os.path.abspath(path))


def check_hostile(t, d, args):
    shutil.copy(os.path.join(args.srcdir, "samples", "demo.pcap"), os.path.join(args.tmp, EVIL))
    path, doc = report(args, "evil", [EVIL], [EVIL_FILTER], cwd=args.tmp)
    severe, alert = load(d, path)
    t.ok(alert is None, "hostile name: no alert", alert)
    t.ok(not severe, "hostile name: no console error", severe)
    t.ok(d.title == "tcplens: " + EVIL, "hostile name: the title is the name, as text", d.title)
    t.ok(js(d, "return document.querySelectorAll('img, iframe, object, embed').length") == 0,
         "hostile name: no injected element")
    t.ok(js(d, "return document.querySelector('header .inputs b').textContent") == EVIL,
         "hostile name: shown as text")
    t.ok(js(d, "return document.querySelector('header .filter code').textContent") == EVIL_FILTER,
         "hostile filter: shown as text")
    t.ok(js(d, "return document.scripts.length") == 3, "hostile name: no script added")
    check_ladders(t, d, "hostile name", doc)


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--tcplens", "--srcdir", "--tmp", "--chromium", "--driver", "--screenshot"):
        ap.add_argument(opt, required=True)
    args = ap.parse_args()
    t = Tap()
    kernel = os.path.join(args.srcdir, "tests", "netns", "kernel")
    pages = [("demo.pcap", [os.path.join(args.srcdir, "samples", "demo.pcap")])]
    # A host anomaly, IPv6, crossing FINs, zero window, 40 connections,
    # and 150 (more than a page of the list).
    for k in ("backlog_full", "ipv6", "simultaneous_close", "zero_window", "scan",
              "tw_pressure"):
        pages.append((k + ".pcap", [os.path.join(kernel, k + ".pcap")]))
    try:
        d = browser(args)
    except WebDriverException as e:
        t.ok(False, "headless Chromium starts", e)
        return t.done()
    try:
        for name, inputs in pages:
            path, doc = report(args, name, inputs)
            check_page(t, d, name, path, doc)
            if name == "demo.pcap":
                check_controls(t, d, doc)
                check_services(t, d, doc)
                screenshot(t, d, args.screenshot)
                d.set_window_size(1400, 1000)
        check_hostile(t, d, args)
    finally:
        d.quit()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
