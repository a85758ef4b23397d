#!/usr/bin/env bash
# Produces the "known capture" frames embedded in captures.hpp, from the real Linux stack.
#
# Two network namespaces joined by a veth pair, checksum offload off so frames carry full checksums, a
# capture on the client side, and traffic from the kernel itself: ARP (neighbour resolution), ICMP echo
# (ping), a TCP exchange (python sockets: SYN, SYN-ACK, ACK, data, FIN), and a request that scapy sends in
# out-of-order pieces (so the kernel server sends SACK blocks). Addresses are from a documentation range
# (RFC 5737) that exists only inside these namespaces. The kernel here has no 802.1Q module, so the
# VLAN-tagged frames in captures.hpp come from scapy instead (dump_captures.py). Needs root, iproute2,
# ethtool, tcpdump, ping and /usr/bin/python3 with scapy. Usage: make_captures.sh [out.pcap], then
#   /usr/bin/python3 dump_captures.py out.pcap > captures.hpp
# A new capture has new ports, ISNs, timestamps and IP IDs: capture_test.cpp asserts the values of the
# committed one (read off with tcpdump -v), so update those assertions with it.
set -euo pipefail
out="${1:-/tmp/wire_captures.pcap}"
a="swtest-wire-$$-a"
b="swtest-wire-$$-b"
cleanup() {
  [ -n "${tcpdump_pid:-}" ] && kill "$tcpdump_pid" 2>/dev/null || true
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" link set va address 02:00:00:00:00:0a
ip -n "$b" link set vb address 02:00:00:00:00:0b
for ns_if in "$a va" "$b vb"; do
  set -- $ns_if
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$1" ethtool -K "$2" tx off txvlan off rxvlan off >/dev/null 2>&1 || ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
  ip -n "$1" link set "$2" up
done
ip -n "$a" addr add 192.0.2.1/24 dev va
ip -n "$b" addr add 192.0.2.2/24 dev vb

ip netns exec "$a" tcpdump -i va -U -s 0 -w "$out" 2>/dev/null &
tcpdump_pid=$!
sleep 1

# Server: a small HTTP-ish responder on 8080 (one response per connection).
ip netns exec "$b" /usr/bin/python3 - <<'PY' &
import socket, threading
def serve(port, body):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(8)
    while True:
        c, _ = s.accept()
        c.recv(4096)
        c.sendall(body)
        c.close()
threading.Thread(target=serve, args=(8080, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), daemon=True).start()
threading.Event().wait(60)
PY
server_pid=$!
sleep 1

ip netns exec "$a" ping -c 1 -W 1 192.0.2.2 >/dev/null              # ARP request/reply, then echo
client() {  # $1 address, $2 port
  ip netns exec "$a" /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(b"GET / HTTP/1.1\r\nHost: synwave\r\n\r\n")
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.close()
PY
}
client 192.0.2.2 8080
# SACK: this kernel has no netem, so a scapy client from an address the client namespace does not own
# (its kernel stays silent) sends the request in three pieces, last piece first and middle next: the
# kernel server answers each out-of-order piece with a duplicate ACK carrying SACK blocks (RFC 2018).
ip -n "$b" neigh replace 192.0.2.3 lladdr 02:00:00:00:00:0a dev vb nud permanent
ip netns exec "$a" /usr/bin/python3 - <<'PY'
import logging, time
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, TCP, srp1, sendp, conf
conf.verb = 0
l2 = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b")
ip = IP(src="192.0.2.3", dst="192.0.2.2", flags="DF", id=0)
isn, ts = 0xFFFFFFF0, 1000  # 16 below 2^32: the later pieces and SACK blocks wrap
opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (ts, 0)), ("NOP", None), ("WScale", 7)]
synack = srp1(l2 / ip / TCP(sport=40000, dport=8080, flags="S", seq=isn, window=64240, options=opts),
              iface="va", timeout=2)
peer_isn, peer_ts = synack[TCP].seq, dict(synack[TCP].options)["Timestamp"][0]
def seg(off, data, flags="A"):
    return l2 / ip / TCP(sport=40000, dport=8080, flags=flags, seq=(isn + 1 + off) % 2**32, ack=(peer_isn + 1) % 2**32,
                         window=502, options=[("NOP", None), ("NOP", None), ("Timestamp", (ts + 1, peer_ts))]) / data
req = b"GET / HTTP/1.1\r\nHost: synwave\r\n\r\n"
sendp(seg(0, b"", "A"), iface="va"); time.sleep(0.2)
sendp(seg(24, req[24:], "PA"), iface="va"); time.sleep(0.2)
sendp(seg(12, req[12:18], "PA"), iface="va"); time.sleep(0.2)
sendp(seg(0, req[:12], "PA"), iface="va"); time.sleep(0.2)
sendp(seg(len(req), b"", "R"), iface="va")
PY
sleep 1
kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
tcpdump_pid=
echo "wrote $out" >&2
