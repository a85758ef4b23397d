#!/usr/bin/env python3
"""HTTP/1.1 end to end against the Linux kernel's TCP and servers and clients nobody here wrote: `synwave client`
with --requests N over keep-alive against nginx (counted per connection in nginx's own access log), python's
http.server speaking HTTP/1.0 (closes after each response) and a python server answering in chunks; `synwave
server --http-keepalive` against wrk, curl and h2load, and raw python sockets for framing (a request byte by
byte, pipelining, HEAD, 501, 400, 431). Counts are asserted exactly; every case has tshark judge synwave's frames.
Usage: /usr/bin/python3 tests/e2e/http_role.py <build dir>   (E2E_ONLY=2,5 runs only those cases)
"""
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from lab import check, note  # noqa: E402
from client_peers import PeerScript, nginx, peer_mac  # noqa: E402

tap = lab.Tap()


def build():
    return os.environ["SYNWAVE_E2E_BUILD"]


def expect(pairs):
    """name -> (got, want); every mismatch reported at once."""
    bad = [f"{k}: {g} (expected {w})" for k, (g, w) in pairs.items() if g != w]
    check(not bad, "; ".join(bad))


def pattern(n):
    """synwave's test pattern (engine::pattern_byte): 16-byte records, each its number in hex and a newline."""
    return "".join("%015x\n" % k for k in range(n // 16 + 1))[:n].encode()


def client(L, n, extra, concurrency=10, config=None, duration=20, close="server"):
    """`synwave client` for n connections to the peer's port 80, by default the server closing after the last
    response; its JSON once it has exited by itself."""
    args = ["--src", L.dut_ip, "--dst", L.peer_ip, "--port", "80", "--total", str(n),
            "--concurrency", str(concurrency), "--close", close, "--duration", str(duration),
            "--fail-tolerance", "0", "--peer-mac", peer_mac(L)] + list(extra)
    if config:
        path = L.path(f"client{len(L.procs)}.toml")
        with open(path, "w") as f:
            f.write(config)
        args += ["--config", path]
    sw = L.synwave("client", args, json_name=f"client{len(L.procs)}.json")
    j = sw.wait(timeout=duration + 20)
    note(f"synwave client ran {j['duration_s']:.1f} s, exit status {j['exit_status']}")
    return j


def app(j, side="client"):
    return j[side]["app"]


def stop(p):
    """Ends a peer process this test started, by its PID."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------------------------- nginx

# nginx with an access log numbering each connection's requests, and three paths: 200, 503 and 404.
NGINX_HTTP = ("log_format conn '$connection $connection_requests $status $request_uri'; "
              "access_log {d}/access.log conn; keepalive_requests 1000;")
NGINX_SERVER = ('location = /ok { return 200 "hello\\n"; } location = /busy { return 503; } '
                "location / { return 404; }")

# Three request templates, taken per connection by smooth weighted round-robin: of 40 connections exactly 20
# ask /ok, 10 /missing and 10 /busy.
TEMPLATES = """[[request]]
path = "/ok"
weight = 2
[[request]]
path = "/missing"
weight = 1
[[request]]
path = "/busy"
weight = 1
"""


def nginx_log(L):
    """Per nginx connection number: [(connection_requests, status, uri)] in log order."""
    by = defaultdict(list)
    with open(L.path("access.log")) as f:
        for line in f:
            conn, nreq, status, uri = line.split()
            by[conn].append((int(nreq), int(status), uri))
    return by


@tap.case("client --requests 10 against nginx: 10 requests on every connection (nginx's log), 200/404/503 "
          "counted by class, the 404 and 503 connections failed (status)")
def _():
    n, per = 40, 10
    with lab.Lab(build()) as L:
        ngx = nginx(L, http=NGINX_HTTP.format(d=L.tmp), server=NGINX_SERVER)
        with L.capture() as cap:
            j = client(L, n, ["--requests", str(per)], config=TEMPLATES)
        # The same templates with 404 and 503 expected: every connection completes. Other source ports: nginx
        # holds the first run's in TIME_WAIT.
        k = client(L, 12, ["--requests", "3", "--expect-status", "2xx,404,503", "--src-ports", "2000-2999"],
                   config=TEMPLATES)
        # POSTs of 200 KB: nginx's `return` answers before it has read the body, so each response comes while
        # the request is still unacknowledged; the next request must wait for it, not be dropped.
        with open(L.path("body"), "wb") as f:
            f.write(b"q" * 200000)
        post = client(L, 4, ["--requests", "3", "--method", "POST", "--path", "/ok", "--data-file", L.path("body"),
                             "--src-ports", "3000-3999"], concurrency=4)
        stop(ngx)
        p = app(post)
        expect({"POST exit status": (post["exit_status"], 0), "POST completed": (p["conn_completed"], 4),
                "POST requests": (p["requests_sent"], 12), "POST 2xx": (p["http_2xx"], 12)})
        a = app(j)
        expect({"exit status (failures over tolerance 0)": (j["exit_status"], 1),
                "conn_attempted": (a["conn_attempted"], n), "conn_connected": (a["conn_connected"], n),
                "requests_sent": (a["requests_sent"], n * per), "responses_done": (a["responses_done"], n * per),
                "2xx": (a["http_2xx"], 20 * per), "4xx": (a["http_4xx"], 10 * per), "5xx": (a["http_5xx"], 10 * per),
                "1xx+3xx": (a["http_1xx"] + a["http_3xx"], 0), "status_unexpected": (a["status_unexpected"], 20 * per),
                "bad_responses": (a["bad_responses"], 0), "conn_completed": (a["conn_completed"], 20),
                "conn_failed": (a["conn_failed"], 20), "conn_failed_status": (a["conn_failed_status"], 20),
                "conn_failed_bad_response": (a["conn_failed_bad_response"], 0),
                "conn_failed_reset": (a["conn_failed_reset"], 0), "active at the end": (j["client"]["active"], 0)})
        h = j["http"]
        expect({"json http": (h, dict(h, requests=n * per, responses=n * per, bad_responses=0,
                                      status_unexpected=20 * per,
                                      status={"1xx": 0, "2xx": 20 * per, "3xx": 0, "4xx": 10 * per, "5xx": 10 * per})),
                "json failed_by.status": (j["connections"]["failed_by"]["status"], 20),
                "first-byte latencies": (j["latency_ns"]["first_byte"]["count"], n * per),
                "response latencies": (j["latency_ns"]["response"]["count"], n * per)})
        fb = j["latency_ns"]["first_byte"]
        note(f"first byte p50/p99 {fb['p50'] / 1e3:.0f}/{fb['p99'] / 1e3:.0f} us over the veth")
        b = app(k)
        expect({"second run exit status": (k["exit_status"], 0), "second run completed": (b["conn_completed"], 12),
                "second run failed": (b["conn_failed"], 0), "second run requests": (b["requests_sent"], 36),
                "second run 2xx/4xx/5xx": ((b["http_2xx"], b["http_4xx"], b["http_5xx"]), (18, 9, 9)),
                "second run status_unexpected": (b["status_unexpected"], 0)})
        # nginx's side: one log line per request with its connection and that request's number on it.
        log = nginx_log(L)
        uris = Counter(reqs[0][2] for reqs in log.values())
        shapes = Counter(tuple(r[0] for r in reqs) for reqs in log.values())
        mixed = [c for c, reqs in log.items() if len({(s, u) for _, s, u in reqs}) != 1]
        by_status = Counter(s for reqs in log.values() for _, s, _ in reqs)
        note(f"nginx: {len(log)} connections, requests per connection {dict(Counter(len(r) for r in log.values()))}")
        expect({"nginx connections": (len(log), n + 12 + 4),
                "requests numbered 1..N per connection": (shapes, Counter({tuple(range(1, per + 1)): n,
                                                                          (1, 2, 3): 12 + 4})),
                "connections asking /ok, /missing, /busy": (uris, Counter({"/ok": 26 + 4, "/missing": 13,
                                                                         "/busy": 13})),
                "nginx statuses": (by_status, Counter({200: 20 * per + 18 + 12, 404: 10 * per + 9,
                                                       503: 10 * per + 9})),
                "connections mixing paths or statuses": (mixed, [])})
        lab.judge_clean(cap, L, j["client"])


# ---------------------------------------------------------------------------------------------- python servers

# http.server in the peer namespace. http10: protocol HTTP/1.0, so it closes after each response; /len has a
# Content-Length, /nolen is delimited by the close (RFC 9112 §6.3 item 8). chunked: HTTP/1.1, keep-alive, the
# body in three chunks written one by one (RFC 9112 §7.1), "Connection: close" when the request asked.
# SIGTERM prints {connections, requests, paths} as JSON.
PY_HTTP = r'''
import json, os, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
BODY = b"0123456789abcdef" * 4
CHUNKS = [b"a" * 100, b"b" * 1000, b"c" * 7]
stats = {"connections": 0, "requests": 0, "paths": {}}
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" if mode == "chunked" else "HTTP/1.0"
    def setup(self):
        super().setup()
        with lock:
            stats["connections"] += 1
    def log_message(self, *a):
        pass
    def do_GET(self):
        with lock:
            stats["requests"] += 1
            stats["paths"][self.path] = stats["paths"].get(self.path, 0) + 1
        self.send_response_only(200)
        self.send_header("Content-Type", "text/plain")
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            for c in CHUNKS:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        else:
            if self.path == "/len":
                self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
class S(ThreadingHTTPServer):
    request_queue_size = 1024
def on_term(*_):
    with lock:
        sys.stdout.write(json.dumps(stats) + "\n")
    sys.stdout.flush()
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
srv = S((host, port), H)
print("ready", flush=True)
srv.serve_forever(poll_interval=0.05)
'''
PY_BODY = 64
PY_CHUNKS = (100, 1000, 7)


def py_len(status_line, fields, body):
    return len(status_line) + 2 + sum(len(f) + 2 for f in fields) + 2 + body


def chunked_len(last):
    body = sum(len("%x" % c) + 2 + c + 2 for c in PY_CHUNKS) + 5
    fields = ["Content-Type: text/plain", "Transfer-Encoding: chunked"] + (["Connection: close"] if last else [])
    return py_len("HTTP/1.1 200 OK", fields, body)


class PyHttp(PeerScript):
    def __init__(self, L, mode):
        super().__init__(L, "py_http.py", PY_HTTP, [mode, L.peer_ip, 80])


@tap.case("client against python's http.server (HTTP/1.0, closes after each response): Content-Length and "
          "close-delimited bodies complete; --requests 3 carries one request per connection")
def _():
    n = 40
    with lab.Lab(build()) as L:
        srv = PyHttp(L, "http10")
        tpl = '[[request]]\npath = "/len"\n[[request]]\npath = "/nolen"\n'
        with L.capture() as cap:
            j = client(L, n, [], config=tpl)
            k = client(L, n, ["--requests", "3", "--src-ports", "2000-2999"], config=tpl)  # new 4-tuples
        s = srv.stats()
        head = ["Content-Type: text/plain"]
        per = (py_len("HTTP/1.0 200 OK", head + [f"Content-Length: {PY_BODY}"], PY_BODY)
               + py_len("HTTP/1.0 200 OK", head, PY_BODY))
        for name, r in (("requests 1", j), ("requests 3", k)):
            a = app(r)
            expect({f"{name}: exit status": (r["exit_status"], 0), f"{name}: conn_completed": (a["conn_completed"], n),
                    f"{name}: conn_failed": (a["conn_failed"], 0), f"{name}: requests_sent": (a["requests_sent"], n),
                    f"{name}: responses_done": (a["responses_done"], n), f"{name}: 2xx": (a["http_2xx"], n),
                    f"{name}: bad_responses": (a["bad_responses"], 0),
                    f"{name}: response_bytes": (a["response_bytes"], n // 2 * per),
                    f"{name}: active": (r["client"]["active"], 0)})
        expect({"server connections": (s["connections"], 2 * n), "server requests": (s["requests"], 2 * n),
                "server paths": (s["paths"], {"/len": n, "/nolen": n})})
        both = {side: {key: j["client"][side][key] + k["client"][side][key] for key in j["client"][side]}
                for side in ("tcp", "engine")}
        lab.judge_clean(cap, L, dict(k["client"], **both))


@tap.case("client --requests 5 against a python HTTP/1.1 server answering in chunks: all complete, bytes exact")
def _():
    n, per = 20, 5
    with lab.Lab(build()) as L:
        srv = PyHttp(L, "chunked")
        with L.capture() as cap:
            j = client(L, n, ["--requests", str(per), "--path", "/chunks"])
        s = srv.stats()
        a = app(j)
        expect({"exit status": (j["exit_status"], 0), "conn_completed": (a["conn_completed"], n),
                "conn_failed": (a["conn_failed"], 0), "requests_sent": (a["requests_sent"], n * per),
                "responses_done": (a["responses_done"], n * per), "2xx": (a["http_2xx"], n * per),
                "bad_responses": (a["bad_responses"], 0),
                "response_bytes": (a["response_bytes"], n * ((per - 1) * chunked_len(False) + chunked_len(True))),
                "server connections": (s["connections"], n), "server requests": (s["requests"], n * per)})
        # The chunks left as separate writes: more of the kernel's data segments than responses.
        segs = len(cap.fields(f"ip.src == {L.peer_ip} && tcp.len > 0", ["frame.number"]))
        note(f"{segs} data segments from the server for {n * per} responses")
        check(segs > n * per, f"{segs} data segments for {n * per} chunked responses: the chunks were not split")
        lab.judge_clean(cap, L, j["client"])


# ---------------------------------------------------------------------------------------------- synwave server

def server(L, *extra, name="server.json"):
    sw = L.synwave("server", ["--ip", L.dut_ip, "--port", "80", "--body", "16"] + list(extra), json_name=name)
    L.wait_reachable()
    return sw


def h2load(out):
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored",
                  out)
    check(m, "no h2load summary:\n" + out[-1500:])
    return dict(zip(("total", "started", "done", "succeeded", "failed", "errored"), map(int, m.groups())))


@tap.case("server --http-keepalive: wrk with Connection: close gets one request per connection and the "
          "server's close; curl --http1.0 is closed, keep-alive 1.0 reused; curl's upload gets its 100 Continue; "
          "h2load --h1: 100 requests on 4")
def _():
    with lab.Lab(build()) as L:
        sw = server(L, "--http-keepalive", name="wrk.json")
        with L.capture(bpf="tcp") as cap:
            w = L.peer(["wrk", "-t1", "-c1", "-d1", "-H", "Connection: close", f"http://{L.dut_ip}/"], check=True)
        s = sw.stop()["server"]
        a = s["app"]
        reqs = int(re.search(r"(\d+) requests in", w.stdout).group(1))
        note(f"wrk -c1 Connection: close: {reqs} requests in 1 s")
        # Per TCP stream in the capture (one tshark pass): the requests (data from the kernel), synwave's
        # responses, FINs and SYN-ACKs; retransmissions left out.
        req, resp, fin, syn = Counter(), Counter(), set(), set()
        for stream, src, ln, fl in cap.fields(f"tcp && !{lab.KERNEL_RTX}",
                                              ["tcp.stream", "ip.src", "tcp.len", "tcp.flags"]):
            if src == L.peer_ip and int(ln):
                req[stream] += 1
            elif src == L.dut_ip:
                resp[stream] += int(ln) > 0
                if int(fl, 16) & 0x01:
                    fin.add(stream)
                if int(fl, 16) & 0x02:
                    syn.add(stream)
        resp = +resp
        unanswered = set(req) - set(resp)
        expect({"streams with more than one request": ([x for x, c in req.items() if c != 1], []),
                "streams with more than one response": ([x for x, c in resp.items() if c != 1], []),
                "answered streams without synwave's FIN": (sorted(set(resp) - fin), []),
                "requests parsed == responses sent": (a["requests_received"], a["responses_sent"]),
                "responses sent == answered streams": (a["responses_sent"], len(resp)),
                "accepted == SYN-ACKs captured": (a["conn_accepted"], len(syn)),
                "accepted - requests == streams cut by wrk's end without a request":
                    (a["conn_accepted"] - a["requests_received"], len(syn - set(req))),
                "pipelined": (a["responses_queued"], 0), "bad/too_large/501": (
                    (a["requests_bad"], a["requests_too_large"], a["requests_not_implemented"]), (0, 0, 0))})
        # wrk opens one connection as it starts and closes it unused, and ends with up to one per -c open.
        check(len(unanswered) + len(syn - set(req)) <= 2 and reqs <= a["responses_sent"],
              f"{len(unanswered)} requests unanswered, {len(syn - set(req))} streams without one; wrk {reqs}")
        if a["conn_failed"] == 0:
            lab.judge_clean(cap, L, s)
        else:  # wrk's resets at its end: synwave answers late segments of those with RSTs of its own
            cap.judge(L.dut_ip, allow=("tcp.flags.reset == 1", "tcp.analysis.duplicate_ack"))

        sw = server(L, "--http-keepalive", name="curl.json")
        one = L.peer(["curl", "--http1.0", "-sv", "-m", "5", f"http://{L.dut_ip}/"], check=True)
        two = L.peer(["curl", "--http1.0", "-sv", "-m", "5", "-H", "Connection: keep-alive",
                      f"http://{L.dut_ip}/a", f"http://{L.dut_ip}/b"], check=True)
        js = sw.stop()
        a = app(js, "server")
        check("< Connection: close" in one.stderr and "< HTTP/1.1 200 OK" in one.stderr,
              "curl --http1.0 did not get a 200 with Connection: close:\n" + one.stderr[-1500:])
        check(one.stdout.encode() == pattern(16), f"curl --http1.0 body {one.stdout!r}")
        check("< Connection: keep-alive" in two.stderr and re.search(r"Re-using existing connection", two.stderr),
              "curl --http1.0 with keep-alive did not reuse the connection:\n" + two.stderr[-1500:])
        # The first closed by synwave after its response (to TIME-WAIT), the second by curl (LAST-ACK).
        st = js["server"]["entered_state"]
        expect({"curl: accepted": (a["conn_accepted"], 2), "curl: requests": (a["requests_received"], 3),
                "curl: failed": (a["conn_failed"], 0), "curl: FIN-WAIT-1": (st["FIN-WAIT-1"], 1),
                "curl: TIME-WAIT": (st["TIME-WAIT"], 1), "curl: CLOSE-WAIT": (st["CLOSE-WAIT"], 1),
                "curl: LAST-ACK": (st["LAST-ACK"], 1)})

        # RFC 9110 §10.1.1: with Expect: 100-continue (curl's own choice for uploads over 1 MiB, asked for here)
        # curl holds the content back until the 100 (Continue), for up to 1 s; synwave sends it once the head is
        # in (a server that keeps no connections too), then the 200 after the content.
        sw = server(L, name="curl-expect.json")
        up = L.peer(["curl", "-sv", "-m", "5", "-H", "Expect: 100-continue", "--data-binary", "u" * 2000,
                     f"http://{L.dut_ip}/upload"], check=True)
        js = sw.stop()
        a = app(js, "server")
        check("< HTTP/1.1 100 Continue" in up.stderr and "< HTTP/1.1 200 OK" in up.stderr,
              "curl's upload did not get a 100 Continue and then a 200:\n" + up.stderr[-1500:])
        check("Done waiting for 100-continue" not in up.stderr,
              "curl gave up waiting for the 100 Continue and sent the content anyway:\n" + up.stderr[-1500:])
        expect({"upload: requests": (a["requests_received"], 1), "upload: responses": (a["responses_sent"], 1),
                "upload: 100 Continue sent": (js["server"]["http"]["status"]["1xx"], 1),
                "upload: failed": (a["conn_failed"], 0)})

        for n, c, m, name in ((100, 4, 1, "h2load.json"), (200, 2, 8, "h2load-pipe.json")):
            sw = server(L, "--http-keepalive", name=name)
            r = L.peer(["h2load", "--h1", "-n", str(n), "-c", str(c), "-m", str(m), f"http://{L.dut_ip}/"],
                       check=True, timeout=60)
            res = h2load(r.stdout)
            a = app(sw.stop(), "server")
            note(f"h2load --h1 -n {n} -c {c} -m {m}: {res}; synwave queued {a['responses_queued']} pipelined responses")
            expect({f"-m {m}: h2load": (res, {"total": n, "started": n, "done": n, "succeeded": n, "failed": 0,
                                              "errored": 0}),
                    f"-m {m}: requests": (a["requests_received"], n), f"-m {m}: responses": (a["responses_sent"], n),
                    f"-m {m}: accepted": (a["conn_accepted"], c), f"-m {m}: completed": (a["conn_completed"], c),
                    f"-m {m}: failed": (a["conn_failed"], 0), f"-m {m}: no_slot": (a["http_no_slot"], 0)})
            if m > 1:
                check(a["responses_queued"] > 0, "h2load pipelined 8 requests and none waited for the one before")
            else:
                expect({"-m 1: pipelined": (a["responses_queued"], 0)})


RAW = r'''
import json, socket, time
A = ("10.77.0.1", 80)
def conn():
    s = socket.create_connection(A, timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def to_eof(s):
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return data, "eof"
            data += d
    except ConnectionResetError:
        return data, "reset"
def responses(data, heads=()):
    """[(status, fields, body)] parsed from data; the i-th is a HEAD response (no body) if i in heads."""
    out = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        if not sep:
            out.append(("partial", head.decode(errors="replace"), ""))
            break
        lines = head.decode().split("\r\n")
        f = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        n = 0 if len(out) in heads else int(f.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), f, data[:n].decode()))
        data = data[n:]
    return out
r = {}
s = conn()
for b in b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n":
    s.send(bytes([b]))
    time.sleep(0.002)
got = s.recv(65536)
while b"\r\n\r\n" not in got or len(got.partition(b"\r\n\r\n")[2]) < 10:
    got += s.recv(65536)
s.sendall(b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
d, how = to_eof(s)
r["split"] = (responses(got + d), how)
s = conn()
s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
          b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
d, how = to_eof(s)
r["pipelined"] = (responses(d), how)
s = conn()
s.sendall(b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
d, how = to_eof(s)
r["head"] = (responses(d, heads=(0,)), how)
s = conn()
s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" * 40)
d, how = to_eof(s)
r["burst"] = (responses(d), how)
for name, req in (("foo", b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n"), ("nohost", b"GET / HTTP/1.1\r\n\r\n"),
                  ("big", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")):
    s = conn()
    try:
        s.sendall(req)
    except ConnectionResetError:
        pass
    d, how = to_eof(s)
    r[name] = (responses(d), how)
s = conn()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
d, how = to_eof(s)
r["after"] = (responses(d), how)
print(json.dumps(r))
'''


@tap.case("server: a request byte by byte, three pipelined in order, HEAD without body, 40 pipelined (17 "
          "answered, then a close), 501, 400 without Host, 431 for a 64 KiB header and the next connection served")
def _():
    with lab.Lab(build()) as L:
        sw = server(L, "--http-keepalive", "--route", "/a=200:10", "--route", "/b=404:5", "--route", "/c=503")
        with L.capture(snaplen=128) as cap:
            out = L.peer_python(RAW, timeout=60)
        j = sw.stop()
        check(out.returncode == 0, "the raw client failed: " + out.stderr[-1500:])
        r = json.loads(out.stdout)
        p = pattern(10).decode()

        def shape(name):
            resps, how = r[name]
            return [(x[0], x[1].get("content-length"), x[1].get("connection"), x[2]) for x in resps], how
        ka = "keep-alive"
        a200, b404, c503 = ((200, "10", ka, p), (404, "5", ka, p[:5]), (503, "0", "close", ""))
        expect({"split request": (shape("split"), ([a200, c503], "eof")),
                "pipelined": (shape("pipelined"), ([a200, b404, c503], "eof")),
                "HEAD then GET": (shape("head"), ([(200, "10", ka, ""), (404, "5", "close", p[:5])], "eof"))})
        # 40 pipelined at once: one response in flight and 16 queued are all that fit; the 17th closes.
        expect({"40 pipelined": (shape("burst"), ([a200] * 16 + [(200, "10", "close", p)], "eof"))})
        for name, status in (("foo", 501), ("nohost", 400), ("big", 431)):
            resps, how = shape(name)
            check(len(resps) == 1 and resps[0][0] == status and resps[0][2] == "close",
                  f"{name}: {resps} ({how}), expected one {status} with Connection: close")
            check(how == "eof", f"{name}: connection ended by {how}, expected synwave's FIN")
        expect({"after the 431": (shape("after"), ([(200, "16", "close", pattern(16).decode())], "eof"))})
        s = j["server"]
        h = s["http"]
        a = s["app"]
        # Parsed whole: 2 + 3 + 2 + 18 of the burst (the 18th found no room) + the one without Host + the last;
        # FOO and the 64 KiB header fail to parse.
        expect({"requests": (h["requests"], 27), "responses": (h["responses"], 28), "bad": (h["bad"], 1),
                "too_large": (h["too_large"], 1), "not_implemented": (h["not_implemented"], 1),
                "status": (h["status"], {"1xx": 0, "2xx": 21, "3xx": 0, "4xx": 4, "5xx": 3}), "no_slot": (h["no_slot"], 1),
                "pipelined": (h["pipelined"], 19), "accepted": (a["conn_accepted"], 8)})
        note(f"completed {a['conn_completed']}, failed {a['conn_failed']} (reset {a['conn_failed_reset']}), "
             f"ignored request bytes {a['http_ignored_bytes']}")
        # After the 431 the rest of the 64 KiB goes unread (http_ignored_bytes) into a connection synwave is
        # closing, which still takes data (FIN-WAIT, RFC 9293 §3.10.7.4): no reset, every connection completes.
        expect({"completed": (a["conn_completed"], 8), "failed": (a["conn_failed"], 0),
                "ignored bytes": (a["http_ignored_bytes"] > 0, True)})
        rsts = len(cap.fields(f"ip.src == {L.dut_ip} && tcp.flags.reset == 1", ["frame.number"]))
        cap.judge(L.dut_ip, allow=("tcp.flags.reset == 1",) if rsts else ())


if __name__ == "__main__":
    lab.main(tap)
