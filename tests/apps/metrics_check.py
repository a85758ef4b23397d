#!/usr/bin/env python3
"""`synwave storm --metrics` scraped by a real Prometheus: after the run (the process holds, serving its final
figures), Prometheus' sums over the lanes equal the run's JSON exactly (connections completed on both sides, the
latency histograms' counts), the body passes `promtool check metrics`, other targets get 404 and other methods
405; an IPv6 endpoint ([::1]:PORT) serves as well; a bad or busy --metrics address exits 2 naming it before EAL
starts.

Usage: metrics_check.py <synwave executable>"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound to port 0 together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports

def stop(p, name):
    """SIGTERM, then wait; SIGKILL only when it does not end within 20 s. Returns its exit status."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print(f"{name} ignored SIGTERM for 20 s: killed")
            p.kill()
            p.wait()
    return p.returncode

def http(url, method="GET"):
    """(status, content type, body) of one request; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return 0, None, ""

def query(prom_port, q):
    """The value of an instant PromQL query with one result, or None (no result yet, or not up yet)."""
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    status, _, body = http(url)
    if status != 200:
        return None
    r = json.loads(body)["data"]["result"]
    return float(r[0]["value"][1]) if len(r) == 1 else None

def until(fn, timeout):
    """Calls fn every 0.25 s until it returns a true value or timeout seconds have passed; the last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(0.25)

def bad_address_checks(exe):
    """A bad ADDR:PORT and a port in use: exit 2 and an error naming metrics, before EAL (no EAL log line)."""
    checks = []
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    for what, addr, reason in [("a host name", "localhost:9100", "is not ADDR:PORT"),
                               ("an IPv6 address without brackets", "::1:9100", "in brackets"),
                               ("port 0", "127.0.0.1:0", "is not ADDR:PORT"),
                               ("a port in use", f"127.0.0.1:{port}", f"cannot listen on 127.0.0.1:{port}")]:
        p = subprocess.run([exe, "storm", "--quiet", "--duration", "1", "--metrics", addr], capture_output=True,
                           text=True, timeout=60)
        checks.append((f"--metrics {addr} ({what}): exit 2, 'metrics: ...{reason}...', before EAL",
                       p.returncode == 2 and "metrics: " in p.stderr and reason in p.stderr and "EAL" not in p.stderr))
        if not checks[-1][1]:
            print(p.stderr)
    busy.close()
    return checks

def wait_json(run, out, timeout):
    """The run's JSON once written (the run is over), "exited" if the process ended first, or None."""
    def finished():
        if run.poll() is not None:
            return "exited"
        try:
            return json.load(open(out))
        except (OSError, ValueError):
            return None
    return until(finished, timeout)

def ipv6_checks(exe, tmp):
    """--metrics [::1]:PORT: served over IPv6, the final figures while holding."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
    except OSError as e:
        print(f"skip: no IPv6 loopback here ({e})")
        return []
    out = os.path.join(tmp, "run6.json")
    run = subprocess.Popen([exe, "storm", "--quiet", "--duration", "1", "--rate", "500", "--metrics",
                            f"[::1]:{port}", "--json", out, "--hold"], stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(tmp, "synwave6.err"), "w"))
    try:
        j = wait_json(run, out, 120)
        status, _, body = http(f"http://[::1]:{port}/metrics")
    finally:
        rc = stop(run, "synwave")
    want = isinstance(j, dict) and j["connections"]["completed"]
    line = f'synwave_app_conn_completed_total{{side="client",lcore="1"}} {want}'
    return [(f"--metrics [::1]:{port}: 200 and '{line}' (the JSON's) while holding; exit 0 (got {rc})",
             bool(want) and status == 200 and line in body.splitlines() and rc == 0)]

def main(exe):
    checks = bad_address_checks(exe)
    tmp = tempfile.mkdtemp(prefix="synwave-metrics-")
    metrics_port, prom_port = free_ports(2)
    out = os.path.join(tmp, "run.json")
    endpoint = f"http://127.0.0.1:{metrics_port}/metrics"
    run = prom = None
    try:
        run = subprocess.Popen([exe, "storm", "--quiet", "--duration", "6", "--rate", "2000", "--metrics",
                                f"127.0.0.1:{metrics_port}", "--json", out, "--hold"],
                               stdout=open(os.path.join(tmp, "synwave.out"), "w"),
                               stderr=open(os.path.join(tmp, "synwave.err"), "w"))
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    f"scrape_configs:\n  - job_name: synwave\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{metrics_port}']\n")
        prom = subprocess.Popen([PROMETHEUS, "--config.file", os.path.join(tmp, "prometheus.yml"),
                                 "--storage.tsdb.path", os.path.join(tmp, "tsdb"),
                                 "--web.listen-address", f"127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
        # The run's JSON is written when the run is over; the endpoint then serves the final figures (--hold).
        j = wait_json(run, out, 150)
        if not isinstance(j, dict):
            print(f"FAIL: no run JSON ({j}):\n" + open(os.path.join(tmp, "synwave.err")).read())
            return 1
        status, ctype, body = http(endpoint)
        checks.append(("GET /metrics: 200, text/plain; version=0.0.4; charset=utf-8",
                       status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"))
        checks.append(("GET /other: 404", http(f"http://127.0.0.1:{metrics_port}/other")[0] == 404))
        checks.append(("POST /metrics: 405", http(endpoint, "POST")[0] == 405))
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
        checks.append((f"promtool check metrics: exit 0, nothing to say ({lint.stdout.strip()} {lint.stderr.strip()})",
                       lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip()))
        # Prometheus' view of the final figures, summed over the lanes as the JSON sums them.
        conn, lat = j["connections"], j["latency_ns"]
        want = [
            ('sum(synwave_app_conn_completed_total{side="client"})', conn["completed"]),
            ('sum(synwave_app_conn_attempted_total{side="client"})', conn["attempted"]),
            ('sum(synwave_app_conn_completed_total{side="server"})', j["server"]["app"]["conn_completed"]),
            ('sum(synwave_connect_latency_seconds_count{side="client"})', lat["connect"]["count"]),
            ('sum(synwave_connect_latency_seconds_bucket{side="client",le="+Inf"})', lat["connect"]["count"]),
            ('sum(synwave_response_latency_seconds_count{side="client"})', lat["response"]["count"]),
            ('sum(synwave_engine_rx_packets_total)', j["client"]["engine"]["rx_packets"] +
                                                      j["server"]["engine"]["rx_packets"]),
            ('sum(synwave_timewait_records)', j["client"]["timewait"] + j["server"]["timewait"]),
            ('sum(synwave_tcp_connection_states{state="TIME-WAIT"})', j["client"]["timewait"] + j["server"]["timewait"]),
            ('count(synwave_app_conn_completed_total)', 2),  # one series per lane: a client and a server lcore
            (f'synwave_info{{job="synwave",mode="storm",version="{j["synwave"]["version"]}",'
             f'commit="{j["synwave"]["commit"]}"}}', 1),
            ('up{job="synwave"}', 1),  # the last scrape succeeded
        ]
        got = {}
        for q, v in want:
            until(lambda: query(prom_port, q) == v, 20)
            got[q] = query(prom_port, q)
            checks.append((f"Prometheus: {q} == {v} (got {got[q]})", got[q] == v))
        checks.append(("the run completed connections and measured their latency",
                       conn["completed"] > 0 and lat["connect"]["count"] > 0 and lat["response"]["count"] > 0))
        # Mean connect latency from _sum / _count: the JSON's mean, to the nanosecond sum's rounding.
        mean = query(prom_port, 'sum(synwave_connect_latency_seconds_sum) / sum(synwave_connect_latency_seconds_count)')
        checks.append((f"Prometheus: connect _sum/_count {mean} s == JSON mean {lat['connect']['mean']} ns",
                       mean is not None and abs(mean * 1e9 - lat["connect"]["mean"]) < 1))
        # Both read the wall clock in run_lanes before the lanes run, a few lines apart.
        started = query(prom_port, "synwave_start_time_seconds")
        checks.append((f"synwave_start_time_seconds {started} within 10 s of the JSON's start {j['start']['unix_s']}",
                       started is not None and abs(started - j["start"]["unix_s"]) < 10))
        checks.append(("synwave still holding (serving) while Prometheus was queried", run.poll() is None))
    finally:
        prom_rc = stop(prom, "prometheus") if prom else None
        run_rc = stop(run, "synwave") if run else None
        for name in ("synwave.err", "prometheus.log"):
            path = os.path.join(tmp, name)
            if os.path.exists(path) and any(not ok for _, ok in checks):
                print(f"--- {name}\n" + open(path).read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    checks.append((f"synwave exits 0 on SIGTERM while holding (got {run_rc})", run_rc == 0))
    checks.append((f"prometheus exits 0 on SIGTERM (got {prom_rc})", prom_rc == 0))
    checks.append(("the endpoint is gone once synwave exited", http(endpoint)[0] == 0))
    tmp6 = tempfile.mkdtemp(prefix="synwave-metrics6-")
    try:
        checks += ipv6_checks(exe, tmp6)
    finally:
        shutil.rmtree(tmp6, ignore_errors=True)
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    return 0 if all(ok for _, ok in checks) else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
