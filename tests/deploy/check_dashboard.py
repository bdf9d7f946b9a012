#!/usr/bin/env python3
"""deploy/grafana/cursord.json against a live cursord.

Starts a redis-server and a cursord with --redis (so that the backplane's
metrics exist), --metrics-listen and --log-format json, scrapes /metrics on
the metrics port, and checks that every query of the dashboard names only
metrics that cursord exports: a query naming one that does not exist fails
the test. On the way: every line cursord writes to stderr with
--log-format json is one JSON object with time, level, source and message.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

# PromQL words that are not metric names.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "on", "ignoring", "group_left",
    "group_right", "rate", "irate", "increase", "delta", "histogram_quantile", "clamp_min",
    "clamp_max", "abs", "topk", "bottomk", "label_values", "and", "or", "unless", "offset",
    "le", "instance", "job", "version", "inf", "nan",
}

FAILURES = []


def check(ok, message):
    if not ok:
        FAILURES.append(message)
    return ok


def metric_names(expr):
    """The metric names a PromQL expression (or label_values query) names."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)   # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)               # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)              # ranges
    expr = re.sub(r"\$\{?\w+\}?", "", expr)             # Grafana variables
    words = re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr)
    return {w for w in words if w.lower() not in PROMQL_WORDS}


def dashboard_queries(dashboard):
    """(where, expr) for every panel target and every query variable."""
    queries = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            queries.append(("panel %r %s" % (panel.get("title"), target.get("refId")),
                            target.get("expr", "")))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            if isinstance(query, dict):
                query = query.get("query", "")
            queries.append(("variable %r" % variable.get("name"), query or ""))
    return queries


def exported_names(text):
    """Sample names (name_bucket, name_count, ...) and family names in /metrics."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def check_dashboard(dashboard, names):
    """The failures of `dashboard` against the exported `names`."""
    failures = []
    queries = dashboard_queries(dashboard)
    if not queries:
        failures.append("the dashboard has no queries")
    for where, expr in queries:
        named = metric_names(expr)
        if not named:
            failures.append("%s: names no metric: %s" % (where, expr))
        for name in sorted(named - names):
            failures.append("%s: %s is not exported by cursord (%s)" % (where, name, expr))
    return failures


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    FAILURES.append("timed out waiting for " + what)
    return False


def redis_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class StderrReader:
    """Collects a process's stderr lines on a thread."""

    def __init__(self, process):
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, args=(process,), daemon=True)
        self.thread.start()

    def _run(self, process):
        for raw in process.stderr:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cursord", required=True)
    parser.add_argument("--redis-server", default="redis-server")
    parser.add_argument("--dashboard", required=True)
    args = parser.parse_args()

    with open(args.dashboard) as f:
        dashboard = json.load(f)

    # The checker itself can fail: a query naming a metric that does not
    # exist is reported.
    bad = {"panels": [{"title": "bad", "targets": [
        {"refId": "A", "expr": 'sum(rate(cursord_no_such_metric_total{instance=~"$instance"}[5m]))'}]}]}
    check(any("cursord_no_such_metric_total" in f for f in check_dashboard(bad, {"cursord_rooms"})),
          "the checker did not flag a metric that does not exist")

    redis_port = free_port()
    redis = subprocess.Popen(
        [args.redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cursord = None
    try:
        if not wait_until(lambda: redis_answers(redis_port), 20, "redis-server"):
            return 1
        cursord = subprocess.Popen(
            [args.cursord, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0", "--redis", "redis://127.0.0.1:%d" % redis_port,
             "--instance-id", "dashboard", "--log-format", "json",
             "--drain-delay", "0", "--drain-spread", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        reader = StderrReader(cursord)
        metrics_url = []

        def metrics_port_logged():
            for line in reader.snapshot():
                m = re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", line)
                if m:
                    metrics_url.append(m.group(1))
                    return True
            return False

        if not wait_until(metrics_port_logged, 20, "cursord's 'metrics on' line: %s"
                          % "".join(reader.snapshot())):
            return 1
        scraped = []

        def backplane_connected():
            try:
                text = urllib.request.urlopen(metrics_url[0], timeout=5).read().decode()
            except OSError:
                return False
            scraped[:] = [text]
            return "\ncursord_backplane_connected 1\n" in text

        if not wait_until(backplane_connected, 20, "cursord_backplane_connected 1"):
            return 1
        names = exported_names(scraped[0])
        FAILURES.extend(check_dashboard(dashboard, names))

        cursord.send_signal(signal.SIGTERM)
        check(cursord.wait(timeout=30) == 0, "cursord did not exit 0 on SIGTERM")
        reader.thread.join(timeout=10)
        lines = reader.snapshot()
        check(len(lines) >= 4, "too few log lines: %r" % lines)
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                check(False, "--log-format json wrote a line that is not JSON: %r" % line)
                continue
            check(isinstance(entry, dict) and set(entry) == {"time", "level", "source", "message"},
                  "a JSON log line without exactly time, level, source, message: %r" % line)
            check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.get("time", "")),
                  "a JSON log line's time: %r" % line)
            check(entry.get("level") in {"DEBUG", "INFO", "WARN", "ERROR"},
                  "a JSON log line's level: %r" % line)
            check(re.fullmatch(r"[\w.]+\.cc:\d+", entry.get("source", "")),
                  "a JSON log line's source: %r" % line)
        check(any(json.loads(l).get("message") == "stopped" for l in lines if l.startswith("{")),
              "no 'stopped' line in the JSON log")
    finally:
        if cursord is not None and cursord.poll() is None:
            cursord.kill()
            cursord.wait()
        redis.kill()
        redis.wait()

    for failure in FAILURES:
        print("FAIL: " + failure)
    if not FAILURES:
        print("ok: %d dashboard queries name exported metrics; JSON log lines parse"
              % len(dashboard_queries(dashboard)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
