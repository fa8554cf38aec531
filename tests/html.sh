#!/bin/bash
# --html FILE without a browser: for every capture in samples/ and
# tests/netns/kernel/, the page is a whole HTML document that loads nothing
# from anywhere (no link, no external src, no url(), no @import; the only
# URL in it is the SVG namespace name), its data block holds one record per
# connection of the JSON report written by the same run, and the text
# report still goes to stdout. A capture named like markup and a filter
# with < > & come out escaped, never as markup. Also: --html -, the
# --anomalies-only list, and the usage errors. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-html.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
exec python3 - "$tcplens" "$srcdir" "$tmp" <<'PY'
import json, os, re, shutil, subprocess, sys

tcplens, srcdir, tmp = sys.argv[1:4]
n = failed = 0

def ok(cond, what, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)

def run(args, cwd=None):
    return subprocess.run([tcplens] + args, capture_output=True, cwd=cwd)

def block(page, ident):
    m = re.search(r'<script type="application/json" id="%s">(.*?)</script>' % ident, page, re.S)
    return json.loads(m.group(1)) if m else None

SVG_NS = "http://www.w3.org/2000/svg"

def self_contained(page):
    """What in page would load something, or be a URL other than the SVG
    namespace name: empty when nothing."""
    bad = []
    for pat in (r"<link\b", r"<(img|script|iframe|embed|object|source|audio|video)\b[^>]*\ssrc\s*=",
                r"url\(", r"@import", r"<base\b", r"<meta[^>]+refresh"):
        bad += [m.group(0) for m in re.finditer(pat, page, re.I)]
    bad += [u for u in re.findall(r"\b\w+://[^\s'\"<>)]*", page) if u != SVG_NS]
    return bad

captures = sorted(os.path.join(d, f) for d in ("samples", "tests/netns/kernel")
                  for f in os.listdir(os.path.join(srcdir, d)) if f.endswith(".pcap"))
ok(len(captures) > 10, "captures found (%d)" % len(captures))
for cap in captures:
    page_f, json_f = os.path.join(tmp, "p.html"), os.path.join(tmp, "p.json")
    r = run(["-r", os.path.join(srcdir, cap), "--html", page_f, "--json", json_f])
    page = open(page_f, encoding="utf-8").read() if os.path.exists(page_f) else ""
    doc = json.load(open(json_f)) if os.path.exists(json_f) else {"connections": []}
    recs = block(page, "tl-data")
    meta = block(page, "tl-meta")
    problems = []
    if r.returncode != 0:
        problems.append("exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")))
    if not page.startswith("<!DOCTYPE html>\n") or not page.endswith("</html>\n"):
        problems.append("not a whole HTML document")
    if page.count("<script") != 3 or page.count("</script>") != 3:
        problems.append("script elements: %d opened, %d closed" % (page.count("<script"),
                                                                  page.count("</script>")))
    problems += ["loads or links: %s" % b for b in self_contained(page)]
    if recs is None or meta is None:
        problems.append("no data or meta block")
    else:
        ids = [rec[0] for rec in recs]
        want = [c["id"] for c in doc["connections"]]
        if ids != want:
            problems.append("records %s, JSON report %s" % (ids, want))
        for rec, c in zip(recs, doc["connections"]):
            if len(rec[21]) != len(c.get("timeline", [])) or len(rec[20]) != len(c.get("anomalies", [])):
                problems.append("connection %d: timeline or anomalies differ" % c["id"])
            if [meta["anomalies"][a[0]] for a in rec[20]] != [a["type"] for a in c.get("anomalies", [])]:
                problems.append("connection %d: anomaly types differ" % c["id"])
        if meta["connections"] != doc["summary"]["connections"]:
            problems.append("meta counts %d connections" % meta["connections"])
    if "connections " not in r.stdout.decode(errors="replace"):
        problems.append("no text report on stdout")
    ok(not problems, "%s: a self-contained page of every connection" % cap, "\n".join(problems))

# A capture whose name is markup, read with a filter holding < > &.
evil = '"><img src=x onerror=alert(1)>.pcap'
shutil.copy(os.path.join(srcdir, "samples", "demo.pcap"), os.path.join(tmp, evil))
flt = "tcp and (len < 65536 or tcp[13] & 0x12 > 0)"
r = run(["-r", evil, "--html", "evil.html", flt], cwd=tmp)
ok(r.returncode == 0, "hostile name: tcplens ran", r.stderr)
page = open(os.path.join(tmp, "evil.html"), encoding="utf-8").read()
esc_name = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.pcap"
ok("<img" not in page and evil not in page, "hostile name: never written as markup")
ok("<title>tcplens: %s</title>" % esc_name in page, "hostile name: escaped in the title")
ok(page.count(esc_name) == 4,
   "hostile name: escaped in the title, the inputs and the two groups' commands (%d)"
   % page.count(esc_name))
ok("len &lt; 65536 or tcp[13] &amp; 0x12 &gt; 0" in page and flt not in page,
   "hostile filter: escaped")
ok(page.count("<script") == 3 and page.count("</script>") == 3 and not self_contained(page),
   "hostile name: no script or resource added", self_contained(page))
recs = block(page, "tl-data")
ok(recs is not None and len(recs) == 6, "hostile name: the six connections of demo.pcap")

# --html - is the only thing on stdout.
r = run(["-r", os.path.join(srcdir, "samples", "demo.pcap"), "--html", "-"])
out = r.stdout.decode(errors="replace")
ok(r.returncode == 0 and out.startswith("<!DOCTYPE html>") and out.endswith("</html>\n"),
   "--html -: the page alone on stdout")

# --anomalies-only lists the connections with a warning or an error.
r = run(["-r", os.path.join(srcdir, "samples", "demo.pcap"), "--anomalies-only", "--html", "-"])
page = r.stdout.decode(errors="replace")
recs, meta = block(page, "tl-data"), block(page, "tl-meta")
ok(recs is not None and [rec[0] for rec in recs] == [2, 3] and meta["anomalies_only"]
   and meta["connections"] == 6 and meta["listed"] == 2,
   "--anomalies-only: connections 2 and 3 of 6 listed")

# The anomaly groups, before the connection list: the kernel's scan has 33
# refused ports, one service each, explained once; each row names its
# service, count, example (a link to its connection) and its command.
scan = os.path.join(srcdir, "tests", "netns", "kernel", "scan.pcap")
r = run(["-r", scan, "--html", "-"])
page = r.stdout.decode("utf-8", "replace")
g = page.find('<section class="panel wide" id="groups">')
ok(r.returncode == 0 and 0 < g < page.find('id="tl-data"'),
   "groups: a section before the connection list")
sec = page[g:page.find("</section>", g)]
ok("<h2>Anomaly groups (37)</h2>" in sec, "groups: 37 (33 refused, 1 syn_scan, 3 rst_instead_of_fin)",
   sec[:300])
ok(sec.count("<b>refused</b> 33 connections, 33 services") == 1 and
   sec.count("What happened (connection 1, the first)") == 1,
   "groups: refused once, with its first connection's explanation")
ok(len(re.findall(r"<tr><th><code>127\.0\.0\.1:100\d\d</code></th><td>1</td>", sec)) >= 33,
   "groups: a row per refused port")
ok('<a href="#c1">1</a></td><td><code>tcplens ' in sec and "scan.pcap --connection 1</code>" in sec,
   "groups: example link and the command that lists it")

# Usage errors: two documents on stdout, a page that cannot be written.
r = run(["-r", os.path.join(srcdir, "samples", "demo.pcap"), "--html", "-", "--json", "-"])
ok(r.returncode == 2 and b"--html -" in r.stderr, "--html - with --json -: usage error", r.stderr)
r = run(["-r", os.path.join(srcdir, "samples", "demo.pcap"), "--html", os.path.join(tmp, "no", "x.html")])
ok(r.returncode == 2 and b"x.html: No such file or directory" in r.stderr,
   "--html into a missing directory: exit 2, the file and the reason", r.stderr)

print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
