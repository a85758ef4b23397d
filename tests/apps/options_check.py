#!/usr/bin/env python3
"""Bad configuration values get an error that names the key and the reason, exit status 2, before EAL starts
(no DPDK device is touched, so these run in milliseconds). TAP: one test case per bad input."""
import os, subprocess, sys, tempfile

def run(exe, args):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=60)

def main(exe):
    d = tempfile.mkdtemp()
    def conf(name, text):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        return p
    # (description, arguments, text the error must contain)
    cases = [
        ("max_conns below its range", ["server", "--max-conns", "5"], "max_conns: must be in [16, 16777216]"),
        ("max_conns above its range", ["server", "--max-conns", "99999999"], "max_conns: must be in"),
        ("half_open_limit above its range", ["server", "--half-open-limit", "99999999"],
         "half_open_limit: must be at most 16777216"),
        ("max_timewait above its range", ["client", "--max-timewait", "99999999"], "max_timewait: must be at most"),
        ("msl_ms above its range", ["server", "--msl-ms", "700000"], "msl_ms: must be at most 600000"),
        ("cookies not a mode", ["storm", "--cookies", "maybe"], "cookies: must be off, auto or always"),
        ("close not a mode", ["storm", "--close", "never"], "close: must be client, server or rst"),
        ("behaviour unknown", ["server", "--behaviour", "ftp"], "behaviour: must be http, close, echo or sink"),
        ("body above 256 MiB", ["server", "--body", "268435457"], "body: must be at most 268435456 bytes"),
        ("body above 256 MiB in a config file", ["server", "--config", conf("body.toml", "body = 300000000\n")],
         "body: must be at most 268435456 bytes"),
        ("body not a number", ["server", "--body", "50MB"], "--body"),
        ("body negative", ["server", "--body", "-1"], "--body"),
        ("storm duration 0", ["storm", "--duration", "0"], "duration: must be in (0, 86400]"),
        ("src unparsable", ["client", "--src", "10.0.0"], "src: not an IPv4 address or range"),
        ("ip unparsable", ["server", "--ip", "10.0.0.256"], "ip: not an IPv4 address or range"),
        ("port beyond 65535", ["server", "--port", "70000"], "--port"),
        ("unknown key in a config file", ["server", "--config", conf("unknown.toml", "bogus_key = 3\n")],
         "unknown key 'bogus_key'"),
        ("wrong type in a config file", ["server", "--config", conf("type.toml", 'max_conns = "many"\n')],
         "key 'max_conns' must be an integer"),
        ("config file that does not parse", ["server", "--config", conf("syntax.toml", "max_conns = = 3\n")],
         "syntax.toml"),
        ("config file missing", ["server", "--config", os.path.join(d, "absent.toml")], "absent.toml"),
        ("storm lanes 0", ["storm", "--lanes", "0"], "lanes: must be in [1, 64]"),
        ("storm lanes above 64", ["storm", "--lanes", "65"], "lanes: must be in [1, 64]"),
        ("lanes above 64 in a config file", ["storm", "--config", conf("lanes.toml", "lanes = 1000\n")],
         "lanes: must be in [1, 64]"),
        ("lanes for server", ["server", "--lanes", "2"], "lanes: only for storm"),
        ("loss above 50 percent", ["storm", "--loss", "60"], "loss: must be in [0, 50] percent"),
        ("negative loss", ["client", "--loss=-1"], "loss: must be in [0, 50] percent"),
        ("loss not a number in a config file", ["server", "--config", conf("loss.toml", 'loss = "some"\n')],
         "key 'loss' must be a number"),
        ("more lanes than address and port slices",
         ["storm", "--lanes", "4", "--src", "10.1.0.1-10.1.0.3", "--src-ports", "5000-5002"],
         "lanes: 4 lanes need as many disjoint source slices, but src '10.1.0.1-10.1.0.3' has 3 address(es) "
         "and src_ports '5000-5002' has 3 port(s)"),
        ("src_ports 0", ["storm", "--src-ports", "0-100"], "src_ports: not a port or range"),
        ("src_ports reversed", ["client", "--src-ports", "2000-1000"], "src_ports: not a port or range"),
        ("EAL arguments given to storm", ["storm", "--", "-l", "0-40"], "storm builds its own EAL arguments"),
        ("more lcores than this process may use", ["server", "--", "-l", "0-4095", "--no-huge", "--no-pci"],
         "lcore list unavailable"),
    ]
    print(f"1..{len(cases) + 1}")
    failed = 0
    for i, (what, args, needle) in enumerate(cases, 1):
        p = run(exe, args)
        ok = p.returncode == 2 and needle in (p.stderr + p.stdout) and "EAL:" not in p.stderr
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {i} - {what}: exit {p.returncode}, error names it")
        if not ok:
            print(f"# args {args}\n# rc {p.returncode}\n# stderr: {p.stderr.strip()}\n# wanted: {needle}")
    # --help explains every option it accepts.
    p = run(exe, ["server", "--help"])
    wanted = ["--max-conns", "--half-open-limit", "--cookies", "--msl-ms", "--config", "--json"]
    ok = p.returncode == 0 and all(w in p.stdout for w in wanted)
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {len(cases) + 1} - server --help lists {', '.join(wanted)}")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
