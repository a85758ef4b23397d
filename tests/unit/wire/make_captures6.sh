#!/usr/bin/env bash
# Produces the IPv6 "known capture" frames embedded in captures6.hpp, from the real Linux stack (the IPv6
# companion of make_captures.sh, which keeps IPv6 off so its IPv4 captures stay as they are).
#
# Two network namespaces joined by a veth pair, checksum offload off so frames carry full checksums, a
# capture on the client side started before the server's side of the link comes up, so it records the
# kernel's own link start-up: Duplicate Address Detection (a Neighbor Solicitation from ::, RFC 4862 §5.4)
# and MLDv2 reports (ICMPv6 behind a hop-by-hop Router Alert option, RFC 3810 §5). Then traffic from the
# kernel itself: address resolution (a multicast Neighbor Solicitation and the solicited Advertisement,
# RFC 4861 §7.2), ping -6, and a TCP exchange (python sockets: SYN, SYN-ACK, ACK, data, FIN). Addresses are
# from the documentation prefix 2001:db8::/32 (RFC 3849) and exist only inside these namespaces. Needs
# root, iproute2, ethtool, tcpdump, ping and /usr/bin/python3. Usage: make_captures6.sh [out.pcap], then
#   /usr/bin/python3 dump_captures6.py out.pcap > captures6.hpp
# A new capture has new ports, ISNs, timestamps, flow labels and ping IDs: capture6_test.cpp asserts the
# values of the committed one (read off with tcpdump -v), so update those assertions with it.
set -euo pipefail
out="${1:-/tmp/wire_captures6.pcap}"
a="swtest-wire6-$$-a"
b="swtest-wire6-$$-b"
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
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
  ip netns exec "$1" ethtool -K "$2" tx off txvlan off rxvlan off >/dev/null 2>&1 || ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
done
# The client's addresses skip DAD (nodad), so the only DAD probes in the capture are the server's.
ip -n "$a" link set va up
ip -n "$a" addr add 2001:db8::1/64 dev va nodad

ip netns exec "$a" tcpdump -i va -U -s 0 -w "$out" ip6 2>/dev/null &
tcpdump_pid=$!
sleep 1
ip -n "$b" addr add 2001:db8::2/64 dev vb
ip -n "$b" link set vb up
# Wait for DAD on both sides to finish (about a second after the link is up: RetransTimer, RFC 4861 §10);
# an address still tentative would neither answer nor be used.
sleep 2
for _ in $(seq 50); do
  ip -n "$a" -6 addr show tentative | grep -q inet6 || ip -n "$b" -6 addr show tentative | grep -q inet6 || break
  sleep 0.2
done

# Server: a small HTTP-ish responder on 8080 (one response per connection).
ip netns exec "$b" /usr/bin/python3 - <<'PY' &
import socket, threading
def serve(port, body):
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(8)
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

ip netns exec "$a" ping -6 -c 1 -W 1 2001:db8::2 >/dev/null      # NS/NA, then echo
ip netns exec "$a" /usr/bin/python3 - <<'PY'
import socket
c = socket.create_connection(("2001:db8::2", 8080))
c.sendall(b"GET / HTTP/1.1\r\nHost: synwave\r\n\r\n")
while c.recv(65536):
    pass
c.close()
PY
sleep 1
kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
tcpdump_pid=
echo "wrote $out" >&2
