#!/usr/bin/env python3
"""Browser test of `netoopsd serve`: the web view of the fleet's crashes.

Copies the report database (it may hold real dumps, e.g. from a QEMU run; a missing one
starts empty), adds a generated history with the gen_history example, starts
`netoopsd serve --http 127.0.0.1:0 --now ...`, drives a headless Debian chromium through
chromedriver (W3C WebDriver over HTTP, standard library only) and checks that the pages
render, that their numbers equal the store's (computed here with sqlite3, not through the
API under test), that filters narrow what is shown, that the JSON API gives the same
numbers, that bad URLs and values give 404 and 400 pages, and that the browser logs no
errors. Writes screenshots to --out. Ends with `N passed, N failed`; exit 1 if any failed.

  python3 tests/web_view.py --netoopsd target/debug/netoopsd --db /tmp/x.db [--out build/web]
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

DAY_MS = 86_400_000
RESULTS = {"passed": 0, "failed": 0}


def check(cond, what, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print(f"ok - {what}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL - {what}" + (f": {detail}" if detail else ""))
    return cond


def eq(got, want, what):
    return check(got == want, what, f"got {got!r}, want {want!r}")


# ---------------------------------------------------------------- expected, from sqlite3


def version_key(s):
    out = []
    for run in re.findall(r"\d+|\D+", s):
        out.append((0, int(run), "") if run.isdigit() else (1, 0, run))
    return out


def version_cmp(a, b):
    """Same order as the server's: digit runs as numbers, other runs as text."""
    pa, pb = re.findall(r"\d+|\D+", a), re.findall(r"\d+|\D+", b)
    for x, y in zip(pa, pb):
        if x.isdigit() and y.isdigit():
            if int(x) != int(y):
                return -1 if int(x) < int(y) else 1
        elif x != y:
            return -1 if x < y else 1
    if len(pa) != len(pb):
        return -1 if len(pa) < len(pb) else 1
    return (a > b) - (a < b)


class Expected:
    def __init__(self, db, now_ms, netoopsd):
        self.c = sqlite3.connect(db)
        self.now_ms = now_ms
        self.rows = [
            dict(zip([d[0] for d in cur.description], r))
            for cur in [self.c.execute("SELECT * FROM reports")]
            for r in cur.fetchall()
        ]
        # Schema 3 keeps a receiver's log only in its packets (`log` is ''): the received log
        # as `netoopsd show --json` decodes it from them (the whole log, else its parts joined
        # by newlines), not through the SQL function the server's search uses.
        for r in self.rows:
            if not r["log"] and r["packets"]:
                out = subprocess.run([netoopsd, "--db", db, "show", str(r["id"]), "--json"],
                                     capture_output=True, text=True, check=True)
                d = json.loads(out.stdout)["dump"]
                r["log"] = d["log"] if d["log"] is not None else "\n".join(
                    s["text"] for s in d["log_segments"])

    def select(self, **f):
        """Reports matching the web filters f (the page's parameter names)."""
        out = []
        for r in self.rows:
            ok = True
            for k, v in f.items():
                if k == "reason":
                    ok &= r["reason"] == v
                elif k == "kernel":
                    ok &= r["kernel_release"] == v
                elif k == "model":
                    ok &= r["cpu_model"] == int(v)
                elif k == "family":
                    ok &= r["cpu_family"] == int(v)
                elif k == "microcode":
                    ok &= r["microcode"] == int(v, 0)
                elif k == "board":
                    ok &= v in (r["board_name"], r["product_name"])
                elif k == "host":
                    ok &= r["hostname"] == v
                elif k == "bios":
                    ok &= r["bios_version"] == v
                elif k == "text":
                    ok &= v.lower() in r["title"].lower() or v.lower() in (r["log"] or "").lower()
                elif k == "days":
                    ok &= r["received_ms"] >= self.now_ms - int(v) * DAY_MS
                elif k == "bucket":
                    ok &= r["bucket"] == v
                elif k == "machine":
                    ok &= r["machine"] == v
                else:
                    raise KeyError(k)
            if ok:
                out.append(r)
        return out

    def buckets(self, rows):
        b = {}
        for r in rows:
            e = b.setdefault(r["bucket"], {"count": 0, "machines": set(), "kernels": set()})
            e["count"] += 1
            e["machines"].add(r["machine"])
            if r["kernel_release"] is not None:
                e["kernels"].add(r["kernel_release"])
        return {k: (v["count"], len(v["machines"]), len(v["kernels"])) for k, v in b.items()}

    def newest_release(self):
        rels = {r["kernel_release"] for r in self.rows if r["kernel_release"]}
        best = None
        for k in rels:
            if best is None or version_cmp(k, best) > 0:
                best = k
        return best

    def new_buckets(self):
        newest = self.newest_release()
        first = {}
        for r in sorted(self.rows, key=lambda r: (r["received_ms"], r["id"])):
            first.setdefault(r["bucket"], r["kernel_release"])
        return {b for b, k in first.items() if newest is not None and k == newest}

    def rising_buckets(self):
        now = self.now_ms
        week, before = {}, {}
        for r in self.rows:
            t = r["received_ms"]
            if now - 7 * DAY_MS <= t < now:
                week[r["bucket"]] = week.get(r["bucket"], 0) + 1
            elif now - 35 * DAY_MS <= t < now - 7 * DAY_MS:
                before[r["bucket"]] = before.get(r["bucket"], 0) + 1
        return {b for b, n in week.items() if n >= 3 and n >= 2 * before.get(b, 0) / 4}

    def spark_total(self, bucket):
        today = self.now_ms // DAY_MS
        lo, hi = (today - 29) * DAY_MS, (today + 1) * DAY_MS
        return sum(1 for r in self.rows if r["bucket"] == bucket and lo <= r["received_ms"] < hi)

    @staticmethod
    def group(rows, key):
        out = {}
        for r in rows:
            k = key(r)
            out[k] = out.get(k, 0) + 1
        return out


# ---------------------------------------------------------------- WebDriver


class WebDriver:
    def __init__(self, base):
        self.base = base
        self.sid = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.code} {e.read()[:500]!r}")

    def start(self, chromium, user_data_dir):
        args = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
            "--window-size=1440,1000", f"--user-data-dir={user_data_dir}",
        ]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": chromium, "args": args},
                    "goog:loggingPrefs": {"browser": "ALL"},
                }
            }
        }
        v = self.call("POST", "/session", caps)
        self.sid = v["sessionId"]

    def s(self, path):
        return f"/session/{self.sid}{path}"

    def get(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def js(self, script, *args):
        return self.call("POST", self.s("/execute/sync"), {"script": script, "args": list(args)})

    def text(self, css):
        return self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
            css,
        )

    def click(self, css):
        el = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        eid = el["element-6066-11e4-a52e-4f735466cecf"]
        self.call("POST", self.s(f"/element/{eid}/click"), {})

    def logs(self):
        return self.call("POST", self.s("/se/log"), {"type": "browser"}) or []

    def screenshot(self, path):
        w, h = self.js(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];"
        )
        h = min(max(h, 600), 6000)
        try:
            v = self.call(
                "POST",
                self.s("/goog/cdp/execute"),
                {
                    "cmd": "Page.captureScreenshot",
                    "params": {
                        "format": "png",
                        "captureBeyondViewport": True,
                        "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1},
                    },
                },
            )
            data = v["data"]
        except (RuntimeError, KeyError, TypeError):
            data = self.call("GET", self.s("/screenshot"))
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def viewport_screenshot(self, path, css=None):
        if css:
            self.js("const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView();", css)
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", self.s("/screenshot"))))

    def quit(self):
        if self.sid:
            try:
                self.call("DELETE", self.s(""))
            except Exception:
                pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(url):
    """(status, headers, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def api(url):
    st, _, body = http(url)
    return st, json.loads(body)


# ---------------------------------------------------------------- the checks


def page_buckets(wd):
    return wd.js(
        """return [...document.querySelectorAll('#buckets tbody tr[data-bucket]')].map(r => ({
             bucket: r.dataset.bucket,
             count: +r.querySelector('.c-count').textContent,
             machines: +r.querySelector('.c-machines').textContent,
             kernels: +r.querySelector('.c-kernels').textContent,
             new: !!r.querySelector('.badge.new'),
             rising: !!r.querySelector('.badge.rising'),
             spark: !!r.querySelector('svg.spark'),
             spark_total: r.querySelector('svg.spark') ? parseInt(r.querySelector('svg.spark').getAttribute('aria-label')) : null}));"""
    )


def check_buckets_page(wd, base, exp, params, label):
    q = urllib.parse.urlencode(params)
    wd.get(base + "/" + ("?" + q if q else ""))
    rows = exp.select(**params)
    want = exp.buckets(rows)
    eq(int(wd.text("#total-reports")), len(rows), f"{label}: reports total on the page")
    eq(int(wd.text("#total-buckets")), len(want), f"{label}: bucket count on the page")
    eq(
        int(wd.text("#total-machines")),
        len({r["machine"] for r in rows}),
        f"{label}: distinct machines on the page",
    )
    got = {b["bucket"]: (b["count"], b["machines"], b["kernels"]) for b in page_buckets(wd)}
    eq(got, want, f"{label}: per bucket reports, machines, kernel releases")
    st, j = api(base + "/api/buckets" + ("?" + q if q else ""))
    eq(st, 200, f"{label}: /api/buckets answers")
    eq(
        (j["reports"], j["bucket_count"], j["machines"]),
        (int(wd.text("#total-reports")), int(wd.text("#total-buckets")), int(wd.text("#total-machines"))),
        f"{label}: JSON totals equal the page's",
    )
    eq(
        {b["bucket"]: (b["count"], b["machines"], b["kernels"]) for b in j["buckets"]},
        got,
        f"{label}: JSON buckets equal the page's",
    )
    return rows, got, j


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netoopsd", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--out", default="build/web")
    ap.add_argument("--gen", help="gen_history binary (default: next to netoopsd, else cargo run)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--now", type=int, help="Unix seconds (default: the clock)")
    ap.add_argument("--debug-dir", action="append", default=[])
    ap.add_argument("--debuginfod", action="append", default=[])
    ap.add_argument("--expect-location", metavar="REGEX",
                    help="a report of the given database must show a symbolized frame location "
                         "matching REGEX (e.g. 'lkdtm_BUG at drivers/misc/lkdtm/bugs.c:132'); "
                         "with --debug-dir/--debuginfod")
    ap.add_argument("--symbolize-timeout", type=float, default=300,
                    help="seconds to wait for debug info being fetched")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    a = ap.parse_args()

    netoopsd = os.path.abspath(a.netoopsd)
    now = a.now if a.now is not None else int(time.time())
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="netoops-web-")
    procs = []
    wd = None
    try:
        db = os.path.join(tmp, "reports.db")
        if os.path.exists(a.db):
            # A consistent copy (the collector may be writing: WAL).
            src = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
            dst = sqlite3.connect(db)
            src.backup(dst)
            src.close()
            dst.close()
        had, had_max = 0, 0
        if os.path.exists(db):
            had, had_max = sqlite3.connect(db).execute(
                "SELECT count(*), coalesce(max(id), 0) FROM reports").fetchone()
        gen = a.gen or os.path.join(os.path.dirname(netoopsd), "examples", "gen_history")
        args = ["--db", db, "--days", str(a.days), "--seed", str(a.seed), "--now", str(now)]
        if os.path.exists(gen):
            cmd = [gen] + args
        else:
            cmd = ["cargo", "run", "-q", "-p", "netoopsd", "--example", "gen_history", "--"] + args
        out = subprocess.run(cmd, capture_output=True, text=True)
        if not check(out.returncode == 0, f"gen_history adds a history to a copy of the database ({had} reports before)", out.stderr[-500:]):
            return
        print(f"# {out.stdout.strip()}")

        serve_cmd = [netoopsd, "--db", db, "serve", "--http", "127.0.0.1:0", "--now", str(now)]
        for d in a.debug_dir:
            serve_cmd += ["--debug-dir", d]
        for u in a.debuginfod:
            serve_cmd += ["--debuginfod", u]
        srv = subprocess.Popen(serve_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(srv)
        line = srv.stdout.readline().strip()
        m = re.match(r"serving (http://\S+?)/?$", line)
        if not check(m is not None, "netoopsd serve prints the address it serves", line or srv.stderr.read()[-500:]):
            return
        base = m.group(1)

        exp = Expected(db, now * 1000, netoopsd)
        check(len(exp.rows) > had, "the copy holds the generated reports", f"{len(exp.rows)} rows")

        port = free_port()
        cd = subprocess.Popen(
            [a.chromedriver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        procs.append(cd)
        wd = WebDriver(f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                if wd.call("GET", "/status").get("ready"):
                    break
            except Exception:
                pass
            time.sleep(0.1)
        wd.start(a.chromium, os.path.join(tmp, "chromium-profile"))
        check(True, "chromedriver started a headless chromium session")

        # ---- buckets page
        rows, got, j = check_buckets_page(wd, base, exp, {}, "buckets")
        eq(j["newest_release"], exp.newest_release(), "newest kernel release (version order)")
        pb = page_buckets(wd)
        eq({b["bucket"] for b in pb if b["new"]}, exp.new_buckets(), "'new' marks: buckets first seen on the newest release")
        eq({b["bucket"] for b in pb if b["rising"]}, exp.rising_buckets(), "'rising' marks: >= 3 this week and >= 2x the weekly average of the 4 weeks before")
        check(len(exp.new_buckets()) >= 1 and len(exp.rising_buckets()) >= 1, "the generated history has new and rising buckets")
        check(all(b["spark"] for b in pb), "every bucket row has a sparkline")
        eq({b["bucket"]: b["spark_total"] for b in pb}, {b["bucket"]: exp.spark_total(b["bucket"]) for b in pb}, "sparklines on the page show the store's last 30 days")
        sparks = {b["bucket"]: sum(b["daily_30d"]) for b in j["buckets"]}
        eq(sparks, {b: exp.spark_total(b) for b in sparks}, "sparkline totals equal the store's last 30 days")
        wd.screenshot(os.path.join(a.out, "buckets.png"))

        # ---- filters
        models = Expected.group(exp.rows, lambda r: r["cpu_model"])
        top_model = max((k for k in models if k is not None), key=lambda k: models[k])
        mc = Expected.group(exp.rows, lambda r: r["microcode"])
        top_mc = max((k for k in mc if k is not None), key=lambda k: mc[k])
        for params in [
            {"reason": "panic"},
            {"kernel": exp.newest_release()},
            {"model": str(top_model)},
            {"microcode": hex(top_mc)},
            {"text": "tcp_recvmsg"},
            {"text": "Journal Service"},
            {"days": "7"},
            {"board": "PowerEdge R650"},
            {"reason": "oops", "family": "6", "days": "30"},
        ]:
            label = "filter " + urllib.parse.urlencode(params)
            r, g, _ = check_buckets_page(wd, base, exp, params, label)
            check(0 < len(r) < len(exp.rows) or params.get("text") == "Journal Service", f"{label}: narrows what is shown", f"{len(r)} of {len(exp.rows)}")
        # The form shows and keeps a filter.
        wd.get(base + "/?reason=panic")
        eq(wd.js("return document.querySelector('select[name=reason]').value;"), "panic", "the filter form shows the filter in use")

        # ---- bucket page: the largest bucket and a new one
        ranked = sorted(got.items(), key=lambda kv: -kv[1][0])
        picks = [ranked[0][0]] + sorted(exp.new_buckets())[:1]
        for i, b in enumerate(picks):
            wd.get(f"{base}/bucket/{b}")
            rows = exp.select(bucket=b)
            eq(int(wd.text("#bucket-reports")), len(rows), f"bucket {b}: reports")
            eq(int(wd.text("#bucket-machines")), len({r['machine'] for r in rows}), f"bucket {b}: machines")
            eq(int(wd.text("#bucket-kernels")), len({r['kernel_release'] for r in rows if r['kernel_release']}), f"bucket {b}: kernel releases")
            shown = wd.js(
                """const o = {}; for (const t of document.querySelectorAll('table.breakdown')) {
                     o[t.id] = {}; for (const r of t.querySelectorAll('tbody tr')) {
                       const c = r.querySelectorAll('td'); o[t.id][c[0].textContent] = +c[1].textContent; } }
                   return o;"""
            )
            nz = lambda v: "(not sent)" if v is None else v
            eq(shown.get("breakdown-kernel"), {nz(k): v for k, v in Expected.group(rows, lambda r: r["kernel_release"]).items()}, f"bucket {b}: breakdown by kernel release")
            eq(shown.get("breakdown-cpu"), {nz(k): v for k, v in Expected.group(rows, lambda r: None if r["cpu_model"] is None else f"{r['cpu_vendor'] or '?'} family {r['cpu_family']} model {r['cpu_model']}").items()}, f"bucket {b}: breakdown by CPU model")
            eq(shown.get("breakdown-microcode"), {nz(k): v for k, v in Expected.group(rows, lambda r: None if r["microcode"] is None else hex(r["microcode"])).items()}, f"bucket {b}: breakdown by microcode")
            eq(shown.get("breakdown-bios"), {nz(k): v for k, v in Expected.group(rows, lambda r: r["bios_version"]).items()}, f"bucket {b}: breakdown by BIOS version")
            eq(shown.get("breakdown-board"), {nz(k): v for k, v in Expected.group(rows, lambda r: None if r["board_name"] is None and r["product_name"] is None else f"{r['board_name'] or '-'} / {r['product_name'] or '-'}").items()}, f"bucket {b}: breakdown by board / product")
            ids = wd.js("return [...document.querySelectorAll('#reports tbody tr a[href^=\"/report/\"]')].map(a => +a.textContent);")
            eq(sorted(ids), sorted(r["id"] for r in rows)[-500:] if len(rows) > 500 else sorted(r["id"] for r in rows), f"bucket {b}: its reports are listed")
            check(wd.js("return !!document.querySelector('svg.chart');"), f"bucket {b}: has a chart of counts over time")
            st, jb = api(f"{base}/api/bucket/{b}")
            eq((st, jb["bucket"]["count"], jb["bucket"]["machines"], jb["bucket"]["kernels"]), (200, len(rows), int(wd.text("#bucket-machines")), int(wd.text("#bucket-kernels"))), f"bucket {b}: JSON equals the page")
            today = now * 1000 // DAY_MS
            lo, hi = (today - len(jb["series"]["daily"]) + 1) * DAY_MS, (today + 1) * DAY_MS
            eq(sum(jb["series"]["daily"]), sum(1 for r in rows if lo <= r["received_ms"] < hi), f"bucket {b}: daily series total")
            if i == 0:
                wd.screenshot(os.path.join(a.out, "bucket.png"))
        # A breakdown value is a link to the bucket's reports with that value.
        b = picks[0]
        wd.get(f"{base}/bucket/{b}")
        value = wd.text("#breakdown-microcode tbody a")
        wd.click("#breakdown-microcode tbody a")
        time.sleep(0.3)
        eq(
            int(wd.text("#bucket-reports")),
            len(exp.select(bucket=b, microcode=value)),
            f"bucket {b}: clicking microcode {value} shows its reports only",
        )
        # A filtered bucket page.
        wd.get(f"{base}/bucket/{b}?days=14")
        eq(int(wd.text("#bucket-reports")), len(exp.select(bucket=b, days="14")), f"bucket {b}?days=14: reports")

        # ---- report page: a partial one with a log hole if any, else the newest
        partial = [r for r in exp.rows if json.loads(r["missing_log"])]
        rep = max(partial or exp.rows, key=lambda r: r["id"])
        rid = rep["id"]
        wd.get(f"{base}/report/{rid}")
        check(rep["title"] in (wd.text("#report-title") or ""), f"report {rid}: shows its title")
        facts = wd.text("#facts") or ""
        for k in ("kernel_release", "hostname", "bios_version"):
            if rep[k]:
                check(rep[k] in facts, f"report {rid}: facts show {k}", rep[k])
        href = wd.js("return document.getElementById('bucket-link').getAttribute('href');")
        eq(href, f"/bucket/{rep['bucket']}", f"report {rid}: links to its bucket")
        mhref = wd.js("return document.getElementById('machine-link').getAttribute('href');")
        eq(urllib.parse.unquote(mhref), f"/machine/{rep['machine']}", f"report {rid}: links to its machine")
        check(bool(wd.text("#sym-status")), f"report {rid}: shows the symbolization status", wd.text("#sym-status"))
        check(wd.js("return !!document.getElementById('frames');"), f"report {rid}: shows a call trace")
        holes = wd.js("return document.querySelectorAll('#log .hole').length;")
        eq(holes, len(json.loads(rep["missing_log"])), f"report {rid}: missing log ranges marked")
        if rep["cpu_model"] is not None:
            check(wd.js("return document.querySelectorAll('#regs > div').length;") in (0, 21), f"report {rid}: registers")
        st, hd, body = http(f"{base}/report/{rid}/log")
        hd = {k.lower(): v for k, v in hd.items()}
        check(st == 200 and hd.get("content-type", "").startswith("text/plain") and "attachment" in hd.get("content-disposition", ""), f"report {rid}: raw log download is a text/plain attachment", str(hd))
        eq(body.count(b"[netoops: log bytes "), len(json.loads(rep["missing_log"])), f"report {rid}: raw log marks missing ranges")
        st, jr = api(f"{base}/api/report/{rid}")
        eq((st, jr["id"], jr["title"], jr["bucket"], jr["machine"]), (200, rid, rep["title"], rep["bucket"], rep["machine"]), f"report {rid}: JSON equals the store")
        wd.screenshot(os.path.join(a.out, "report.png"))

        # ---- machine page
        per = Expected.group(exp.rows, lambda r: r["machine"])
        mach = max(per, key=lambda k: (per[k], k))
        rows = exp.select(machine=mach)
        wd.get(f"{base}/machine/{urllib.parse.quote(mach, safe='')}")
        eq(int(wd.text("#machine-reports")), len(rows), f"machine {mach}: reports")
        eq(int(wd.text("#machine-boots")), len({r["boot_id"] for r in rows}), f"machine {mach}: boots")
        eq(wd.js("return document.querySelectorAll('#boots tbody.boot').length;"), len({r["boot_id"] for r in rows}), f"machine {mach}: one group per boot")
        groups = wd.js("return Object.fromEntries([...document.querySelectorAll('#boots tbody.boot')].map(t => [t.dataset.boot, t.querySelectorAll('a[href^=\"/report/\"]').length]));")
        eq(groups, Expected.group(rows, lambda r: r["boot_id"]), f"machine {mach}: reports per boot")
        st, jm = api(f"{base}/api/machine/{urllib.parse.quote(mach, safe='')}")
        eq((st, jm["reports"], jm["boot_count"]), (200, len(rows), len({r['boot_id'] for r in rows})), f"machine {mach}: JSON equals the page")
        wd.screenshot(os.path.join(a.out, "machine.png"))

        # ---- symbolized stacks of the given database's reports (debug info by build id)
        if a.debug_dir or a.debuginfod or a.expect_location:
            originals = sorted((r for r in exp.rows if r["id"] <= had_max), key=lambda r: -r["id"])[:10]
            seen, found_loc = {}, None
            for r in originals:
                wd.get(f"{base}/report/{r['id']}")
                deadline = time.time() + a.symbolize_timeout
                while True:
                    status = wd.js("const e = document.getElementById('sym-status'); return e ? e.className : '';")
                    if "pending" not in status or time.time() > deadline:
                        break
                    time.sleep(1)
                    wd.get(f"{base}/report/{r['id']}")
                seen[r["id"]] = wd.text("#sym-status")
                locs = wd.js("return [...document.querySelectorAll('#frames .loc')].map(e => e.textContent.trim());") or []
                print(f"# report {r['id']}: {seen[r['id']]}; {len(locs)} locations")
                if a.expect_location and found_loc is None:
                    found_loc = next((l for l in locs if re.search(a.expect_location, l)), None)
                    if found_loc:
                        wd.viewport_screenshot(os.path.join(a.out, "report-symbolized.png"), "#sym-status")
            check(all("being fetched" not in v for v in seen.values()), "debug info lookups finish", json.dumps(seen)[:500])
            if a.expect_location:
                check(found_loc is not None, f"a report page shows a frame at /{a.expect_location}/", json.dumps(seen)[:500])

        # ---- the store grows while served (a collector writing beside it: WAL)
        out = subprocess.run(cmd[:-4] + ["--seed", str(a.seed + 1000), "--now", str(now)], capture_output=True, text=True)
        check(out.returncode == 0, "a second writer adds reports while the server runs", out.stderr[-300:])
        exp = Expected(db, now * 1000, netoopsd)
        wd.get(base + "/")
        eq(int(wd.text("#total-reports")), len(exp.rows), "the buckets page shows reports stored after the server started")

        # ---- no console errors on the pages above
        severe = [e for e in wd.logs() if e.get("level") == "SEVERE"]
        check(not severe, "no browser console errors", json.dumps(severe)[:800])

        # ---- 404 and 400
        for path in ["/no/such/page", "/report/99999999", "/report/abc", "/bucket/ffffffffffffffff", "/machine/no-such-host"]:
            st, _, _ = http(base + path)
            eq(st, 404, f"{path}: 404")
            wd.get(base + path)
            check("404" in (wd.text("#error-title") or ""), f"{path}: 404 page shown")
        for path in ["/api/no-such", "/api/report/99999999", "/api/bucket/ffffffffffffffff", "/api/machine/no-such-host"]:
            st, j = api(base + path)
            eq((st, j.get("status")), (404, 404), f"{path}: JSON 404")
        wd.screenshot(os.path.join(a.out, "error404.png"))
        for q, param, value in [("family=abc", "family", "abc"), ("from=notadate", "from", "notadate"), ("microcode=zz", "microcode", "zz"), ("days=-3", "days", "-3")]:
            st, _, _ = http(f"{base}/?{q}")
            eq(st, 400, f"/?{q}: 400")
            wd.get(f"{base}/?{q}")
            eq((wd.text("#error-param"), wd.text("#error-value")), (param, value), f"/?{q}: 400 page names the parameter and value")
            st, j = api(f"{base}/api/buckets?{q}")
            eq((st, j.get("parameter"), j.get("value")), (400, param, value), f"/api/buckets?{q}: JSON 400")
        st, _, _ = http(f"{base}/bucket/{picks[0]}?model=x")
        eq(st, 400, "bucket page with a bad filter: 400")
        wd.screenshot(os.path.join(a.out, "error400.png"))
        logs = wd.logs()
        unexpected = [e for e in logs if e.get("level") == "SEVERE" and not re.search(r"status of (404|400)", e.get("message", ""))]
        check(not unexpected, "error pages log nothing but their status", json.dumps(unexpected)[:800])
        eq(srv.poll(), None, "the server is still running")
        for name in ("buckets", "bucket", "report", "machine"):
            p = os.path.join(a.out, f"{name}.png")
            check(os.path.exists(p) and open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n", f"screenshot {p}")
    except Exception as e:  # a broken step is a failure, not a crash without a summary
        import traceback

        traceback.print_exc()
        check(False, "the test ran to its end", repr(e))
    finally:
        if wd:
            wd.quit()
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
