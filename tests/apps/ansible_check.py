#!/usr/bin/env python3
"""deploy/ansible/synwave.yml on this machine: an inventory of two localhost aliases (ansible_connection=local),
one short `synwave storm` instance each (--instance 0/2 and 1/2, running at the same time), their JSON fetched and
merged by `synwave merge`. Checks the merge: connections attempted the sum of the two, instances 0 and 1, the two
instances' source slices (their lanes' src / src_ports) disjoint, the merged connect histogram holding the
samples of both. Ansible runs with its home, temp, async and config in a temp dir (no become, nothing outside it).
"""
import ipaddress, json, os, shutil, subprocess, sys, tempfile

def slices(run):
    """[(lo, hi, plo, phi)] of the IPv4 source slices of a run's client lanes."""
    out = []
    for lane in run["client"]["per_lane"]:
        lo, _, hi = lane["src"].partition("-")
        plo, _, phi = lane["src_ports"].partition("-")
        out.append((int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi or lo)), int(plo), int(phi or plo)))
    return out

def main(exe, playbook):
    if shutil.which("ansible-playbook") is None:
        print("ansible-playbook not found (Debian package ansible; scripts/bootstrap installs it)")
        return 77  # meson: skipped
    tmp = tempfile.mkdtemp(prefix="synwave-ansible-")
    try:
        return check(exe, os.path.abspath(playbook), tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

def check(exe, playbook, tmp):
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    cfg = os.path.join(tmp, "ansible.cfg")
    with open(cfg, "w") as f:
        f.write("[defaults]\nretry_files_enabled = False\nforks = 4\n")
    inv = os.path.join(tmp, "inventory.ini")
    with open(inv, "w") as f:
        for name in ("inst0", "inst1"):
            f.write(f"{name} ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=home, ANSIBLE_CONFIG=cfg, ANSIBLE_HOME=os.path.join(home, ".ansible"),
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "local"), ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "remote"),
               ANSIBLE_ASYNC_DIR=os.path.join(tmp, "async"), ANSIBLE_NOCOLOR="1")
    results = os.path.join(tmp, "results")
    extra = {"synwave_bin": os.path.abspath(exe), "synwave_mode": "storm",
             "synwave_args": ["--duration", "2", "--rate", "4000", "--fail-tolerance", "0.05"],
             "synwave_workdir": os.path.join(tmp, "hosts"), "synwave_results": results, "synwave_timeout": 60}
    r = subprocess.run(["ansible-playbook", "-i", inv, playbook, "-e", json.dumps(extra)], cwd=tmp, env=env,
                       capture_output=True, text=True, timeout=150)
    print(r.stdout[-3000:])
    if r.returncode != 0:
        print(f"ansible-playbook exit {r.returncode}\n{r.stderr[-3000:]}")
        return 1
    runs = [json.load(open(os.path.join(results, f"synwave-{i}.json"))) for i in (0, 1)]
    merged = json.load(open(os.path.join(results, "all.json")))
    problems = []
    for i, run in enumerate(runs):
        if run["instance"] != {"index": i, "count": 2}:
            problems.append(f"synwave-{i}.json: instance {run['instance']}")
        if run["connections"]["completed"] == 0:
            problems.append(f"synwave-{i}.json: no connection completed")
    att = [run["connections"]["attempted"] for run in runs]
    if merged["connections"]["attempted"] != sum(att):
        problems.append(f"merged attempted {merged['connections']['attempted']}, the instances {att}")
    if [(x["index"], x["count"]) for x in merged["instances"]] != [(0, 2), (1, 2)]:
        problems.append(f"merged instances {merged['instances']}")
    mine = [slices(run) for run in runs]
    for a in mine[0]:
        for b in mine[1]:
            if a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]:
                problems.append(f"instances 0 and 1 share source tuples: {a} {b}")
    counts = [run["histograms"]["connect"]["count"] for run in runs]
    if merged["histograms"]["connect"]["count"] != sum(counts) or merged["latency_ns"]["connect"]["count"] != sum(counts):
        problems.append(f"merged connect histogram count {merged['histograms']['connect']['count']}, the instances "
                        f"{counts}")
    # The per-second counts of the merged series add up to the merged totals (each instance's do to its own).
    opened = sum(s["client"]["opened"] for s in merged["series"])
    if opened != merged["connections"]["attempted"] or merged["series"][-1]["client"]["opened_total"] != opened:
        problems.append(f"merged series: opened {opened} in all, last opened_total "
                        f"{merged['series'][-1]['client']['opened_total']}, attempted {merged['connections']['attempted']}")
    print(f"instances attempted {att}, merged {merged['connections']['attempted']}; slices {mine}")
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
