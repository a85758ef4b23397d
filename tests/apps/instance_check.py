#!/usr/bin/env python3
"""--instance I/N: bad values exit 2 naming the option (before EAL starts); accepted ones give each instance a
slice of the source tuples, as `--check` prints it, such that the N slices (and the storm lanes' slices within
them, and the ports' sharing one --src) are pairwise disjoint and together the whole space. TAP."""
import ipaddress, subprocess, sys

def run(exe, args):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=60)

BAD = [
    ("I equal to N", ["client", "--instance", "2/2"], "instance: I must be below N"),
    ("I above N", ["storm", "--instance", "7/3"], "instance: I must be below N"),
    ("N zero", ["client", "--instance", "0/0"], "instance: N must be in [1, 65535]"),
    ("N too large", ["client", "--instance", "0/65536"], "instance: N must be in [1, 65535]"),
    ("not I/N", ["client", "--instance", "3"], "instance: not I/N"),
    ("a name for I", ["client", "--instance", "a/4"], "instance: not I/N"),
    ("negative I", ["client", "--instance", "-1/4"], "instance: not I/N"),
    ("N missing", ["storm", "--instance", "1/"], "instance: not I/N"),
    ("spaces", ["storm", "--instance", "1 / 2"], "instance: not I/N"),
    ("a server", ["server", "--instance", "0/2"], "--instance: only for client and storm"),
    ("more instances than addresses and ports", ["client", "--src", "10.1.0.1-10.1.0.3", "--src-ports", "5000-5002",
                                                 "--instance", "0/4"],
     "instance: 4 instances need as many disjoint source slices, but src '10.1.0.1-10.1.0.3' has 3 IPv4"),
    ("lanes beyond an instance's slice", ["storm", "--src", "10.1.0.1-10.1.0.4", "--src-ports", "5000",
                                          "--instance", "1/4", "--lanes", "2"], "lanes: 2 lanes need as many"),
]

def span(text):
    """'10.1.0.1-10.1.0.8' or 'fd00::1' -> (family, lo, hi) as integers."""
    lo, _, hi = text.partition("-")
    a, b = ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo)
    return a.version, int(a), int(b)

def slice_of(line):
    """'src: 10.1.0.1-10.1.0.8,fd00:1::1-fd00:1::4 ports 1024-2047' -> {family: (lo, hi)}, (plo, phi)."""
    addrs, _, ports = line.split(": ", 1)[1].rpartition(" ports ")
    fams = {}
    for part in addrs.split(","):
        fam, lo, hi = span(part)
        fams[fam] = (lo, hi)
    plo, _, phi = ports.partition("-")
    return fams, (int(plo), int(phi or plo))

def size(s, fam):
    fams, (plo, phi) = s
    if fam not in fams:
        return 0
    lo, hi = fams[fam]
    return (hi - lo + 1) * (phi - plo + 1)

def meet(a, b, fam):
    if fam not in a[0] or fam not in b[0]:
        return False
    (alo, ahi), (blo, bhi) = a[0][fam], b[0][fam]
    return alo <= bhi and blo <= ahi and a[1][0] <= b[1][1] and b[1][0] <= a[1][1]

def within(inner, outer, fam):
    if fam not in inner[0]:
        return True
    if fam not in outer[0]:
        return False
    (ilo, ihi), (olo, ohi) = inner[0][fam], outer[0][fam]
    return olo <= ilo and ihi <= ohi and outer[1][0] <= inner[1][0] and inner[1][1] <= outer[1][1]

def partition_problem(whole, parts):
    """None when `parts` are pairwise disjoint, each within `whole`, and as many tuples as `whole` has (so
    together they are all of it); else what is wrong."""
    for fam in (4, 6):
        for i, p in enumerate(parts):
            if not within(p, whole, fam):
                return f"slice {i} {p} is not within {whole} (IPv{fam})"
            for k in range(i):
                if meet(p, parts[k], fam):
                    return f"slices {k} and {i} share IPv{fam} tuples: {parts[k]} {p}"
        total = sum(size(p, fam) for p in parts)
        if total != size(whole, fam):
            return f"IPv{fam}: the slices hold {total} tuples, the whole {size(whole, fam)}"
    return None

def lines(out, prefix):
    return [l.strip() for l in out.splitlines() if l.strip().startswith(prefix)]

# (name, args without --instance, N, what --check prints for each source slice)
COVER = [
    ("client, 64 addresses in 4 instances: the addresses split", ["client"], 4, "src:"),
    ("client, 64 addresses in 3 instances (uneven runs)", ["client"], 3, "src:"),
    ("client, 64 addresses in 100 instances: the ports split", ["client"], 100, "src:"),
    ("client, 2 addresses x 7 ports in 5 instances", ["client", "--src", "10.9.0.1-10.9.0.2", "--src-ports", "40000-40006"],
     5, "src:"),
    ("client, both families in 2 instances", ["client", "--src", "10.1.0.1-10.1.0.9,fd00:1::1-fd00:1::5",
                                               "--dst", "10.0.0.1,fd00::1"], 2, "src:"),
    ("client, 2 ports sharing --src in 3 instances", ["client", "--port-id", "0,1"], 3, "port"),
    ("storm --family 46 --lanes 2 in 3 instances: lanes within each instance", ["storm", "--family", "46", "--lanes", "2"],
     3, "lane"),
    ("storm --lanes 2 in 40 instances: ports split, then the lanes' ports", ["storm", "--lanes", "2"], 40, "lane"),
]

def main(exe):
    cases = len(BAD) + len(COVER) + 2
    print(f"1..{cases}")
    n = 0
    ok_all = True

    def report(ok, name, why=""):
        nonlocal n, ok_all
        n += 1
        ok_all &= ok
        print(("ok" if ok else "not ok") + f" {n} - {name}")
        if not ok:
            print("# " + why.replace("\n", "\n# "))

    for name, args, want in BAD:
        r = run(exe, args + ["--check"])  # --check: an input wrongly accepted starts no run
        report(r.returncode == 2 and want in r.stderr and "Traceback" not in r.stderr, name,
               f"exit {r.returncode}, stderr: {r.stderr.strip()}; wanted '{want}'")
    # Without --instance, nothing changes; 0/1 is the whole space as well.
    whole = run(exe, ["client", "--check"])
    one = run(exe, ["client", "--check", "--instance", "0/1"])
    report(whole.returncode == 0 and whole.stdout == one.stdout, "--instance 0/1 is the whole space",
           whole.stdout + one.stdout + one.stderr)
    r = run(exe, ["client", "--check", "--instance", "1/4"])
    report(r.returncode == 0 and "src: 10.1.0.17-10.1.0.32 ports 1024-65535" in r.stdout and
           "instance: 1/4: src above is its slice of '10.1.0.1-10.1.0.64' ports 1024-65535" in r.stdout,
           "--check shows instance 1/4's slice and what it is a slice of", r.stdout + r.stderr)
    for name, args, count, prefix in COVER:
        base = run(exe, args + ["--check"])
        if base.returncode != 0:
            report(False, name, base.stderr)
            continue
        # The whole: one instance's own slices (ports or lanes) put together give its slice; with one instance,
        # the whole space as the options give it.
        wholes = [slice_of(l) for l in lines(base.stdout, "src:")] or [slice_of(l) for l in lines(base.stdout, "port 0 src:")]
        if prefix == "port":
            wholes = [slice_of(l) for l in lines(run(exe, ["client", "--check"]).stdout, "src:")]
        parts, why = [], None
        for i in range(count):
            r = run(exe, args + ["--check", "--instance", f"{i}/{count}"])
            if r.returncode != 0:
                why = f"instance {i}/{count}: exit {r.returncode}: {r.stderr.strip()}"
                break
            mine = [slice_of(l) for l in lines(r.stdout, prefix) if " src:" in l or l.startswith("src:")]
            if not mine:
                why = f"instance {i}: no '{prefix}' line in:\n{r.stdout}"
                break
            parts += mine
        report(why is None and (why := partition_problem(wholes[0], parts)) is None, name, why or "")
    return 0 if ok_all else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
