#!/usr/bin/env python3
"""Bad configuration values get an error that names the key and the reason, exit status 2, before EAL starts
(no DPDK device is touched, so these run in milliseconds). TAP: one test case per bad input."""
import os, re, shutil, socket, subprocess, sys, tempfile


def free_port():
    """A loopback port nothing listens on now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def run(exe, args):
    return subprocess.run([exe] + args, capture_output=True, text=True, timeout=60)

def address_cases(conf):
    """--ip, --src, --dst, --gateway, --v6-share, --family, --vlan, --vlan-pcp, and their config keys."""
    return [
        ("IPv6 range reversed", ["client", "--src", "10.1.0.1,2001:db8::40-2001:db8::1", "--dst", "10.0.0.1"],
         "src: range '2001:db8::40-2001:db8::1' is reversed"),
        ("IPv4 range reversed", ["server", "--ip", "10.0.0.9-10.0.0.1"], "ip: range '10.0.0.9-10.0.0.1' is reversed"),
        ("IPv6 range too large (2^20 + 1 addresses)", ["client", "--src", "fd00::1-fd00::10:1", "--dst", "fd00:9::1"],
         "src: IPv6 range 'fd00::1-fd00::10:1' is too large: 1048577 addresses, at most 1048576"),
        ("IPv6 range whose ends differ above the last 32 bits", ["server", "--ip", "fd00::1-fd00:0:0:1::1"],
         "ip: IPv6 range 'fd00::1-fd00:0:0:1::1': its ends differ in their first 96 bits"),
        ("two IPv4 ranges", ["client", "--src", "10.1.0.1-10.1.0.4,10.2.0.1"], "src: two IPv4 ranges"),
        ("two IPv6 ranges", ["server", "--ip", "fd00::1,10.0.0.1,fd00::2"], "ip: two IPv6 ranges"),
        ("a hostname for an address", ["client", "--dst", "example.com"], "dst: not an address: 'example.com'"),
        ("an empty entry in a list", ["server", "--ip", "10.0.0.1,"], "ip: not an address: ''"),
        ("IPv4 loopback as our address", ["server", "--ip", "127.0.0.1"], "ip: '127.0.0.1' is in 127.0.0.0/8"),
        ("IPv4 range through 0.0.0.0/8", ["client", "--src", "0.0.0.1-1.0.0.1"], "src: '0.0.0.1-1.0.0.1' includes 0.0.0.0/8"),
        ("IPv4 multicast destination", ["client", "--dst", "224.0.0.5"], "dst: '224.0.0.5' is in 224.0.0.0/4"),
        ("IPv4 limited broadcast", ["server", "--ip", "255.255.255.255"], "ip: '255.255.255.255' is in 255.255.255.255"),
        ("IPv6 unspecified", ["server", "--ip", "::"], "ip: '::' is in :: and ::1"),
        ("IPv6 loopback", ["client", "--src", "::1", "--dst", "fd00::1"], "src: '::1' is in :: and ::1"),
        ("IPv6 multicast", ["server", "--ip", "ff02::1"], "ip: 'ff02::1' is in ff00::/8"),
        ("IPv4-mapped IPv6", ["client", "--dst", "10.0.0.1,::ffff:10.0.0.1"], "dst: '::ffff:10.0.0.1' is in ::ffff:0:0/96"),
        # Several destinations and ports (--dst, --port) and the order of the tuples.
        ("a destination given twice", ["client", "--dst", "10.0.0.1-10.0.0.3,10.0.0.2"],
         "dst: destination 10.0.0.2 given twice"),
        ("an IPv6 destination given twice", ["client", "--src", "fd00:1::1", "--dst", "fd00::1,fd00::2,fd00::1"],
         "dst: destination fd00::1 given twice"),
        ("more than 65536 destinations", ["client", "--dst", "10.0.0.1-10.1.0.1"], "dst: more than 65536 IPv4 destinations"),
        ("storm: IPv6 destinations the server cannot hold as one range", ["storm", "--family", "6", "--dst", "fd00::1,fd01::1"],
         "dst: storm's server takes the destinations as its own addresses"),
        ("a port list for the server", ["server", "--port", "80,8080"], "port: the server listens on one port: '80,8080'"),
        ("a port list with a name in it", ["client", "--port", "80,http"],
         "port: not a port, range lo-hi or list of them within [1, 65535]: 'http'"),
        ("a port given twice", ["client", "--port", "8000-8009,8005"], "port: port 8005 given twice"),
        ("port 0", ["client", "--port", "0"], "port: not a port"),
        ("a reversed port range", ["storm", "--port", "90-80"], "port: range '90-80' is reversed"),
        ("tuple_order unknown", ["client", "--tuple-order", "shuffled"], "tuple_order: must be seq or random"),
        ("tuple_seed not a number", ["client", "--tuple-seed", "x"], "--tuple-seed"),
        ("a tuple space beyond 2^62", ["client", "--src", "11.0.0.1-11.255.255.255", "--dst", "12.0.0.1-12.0.255.255",
                                       "--port", "1-65535"], "dst, port: src '11.0.0.1-11.255.255.255'"),
        ("config: port list with a bad entry", ["client", "--config", conf("ports_bad.toml", 'port = "80,x"\n')],
         "port: not a port"),
        ("config: port negative", ["client", "--config", conf("port_neg.toml", "port = -5\n")], "port: not a port"),
        ("config: tuple_order not a string", ["client", "--config", conf("order.toml", "tuple_order = 1\n")],
         "key 'tuple_order' must be a string"),
        ("sources and destination of different families", ["client", "--src", "fd00:1::1", "--dst", "10.0.0.1"],
         "src, dst: no family has both"),
        ("v6_share without IPv6", ["client", "--v6-share", "0.5"], "v6_share: 0.5 > 0 needs IPv6 addresses in both src and dst"),
        ("v6_share without IPv6 destination", ["client", "--src", "10.1.0.1,fd00:1::1", "--v6-share", "0.2"],
         "v6_share: 0.2 > 0 needs IPv6"),
        ("v6_share below 1 without IPv4", ["storm", "--family", "6", "--v6-share", "0.9"],
         "v6_share: 0.9 < 1 needs IPv4 addresses in both src and dst"),
        ("v6_share above 1", ["client", "--v6-share", "1.5"], "v6_share: must be in [0, 1]"),
        ("v6_share not a number", ["client", "--v6-share", "half"], "--v6-share"),
        ("family not 4, 6 or 46", ["storm", "--family", "5"], "family: must be 4, 6 or 46"),
        ("family for a server", ["server", "--family", "6"], "family: only for storm"),
        ("family 6 with IPv4 sources given", ["storm", "--family", "6", "--src", "10.1.0.1-10.1.0.8"],
         "family: 6, but src '10.1.0.1-10.1.0.8' has an IPv4 address"),
        ("family 46 with an IPv4 destination only", ["storm", "--family", "46", "--dst", "10.0.0.7"],
         "family: 46, but dst '10.0.0.7' has no IPv6 address"),
        ("ip for storm", ["storm", "--ip", "10.0.0.1"], "--ip: only for server, not storm (storm's server answers on the client's --dst addresses"),
        ("lanes beyond the IPv6 sources and the ports",
         ["storm", "--family", "46", "--lanes", "4", "--src", "10.1.0.1-10.1.0.8,fd00:1::1-fd00:1::2",
          "--src-ports", "2000-2002"],
         "lanes: 4 lanes need as many disjoint source slices, but src '10.1.0.1-10.1.0.8,fd00:1::1-fd00:1::2' "
         "has 8 IPv4 and 2 IPv6 address(es)"),
        ("vlan 0", ["server", "--vlan", "0"], "vlan: must be in [1, 4094]"),
        ("vlan 4095", ["client", "--vlan", "4095"], "vlan: must be in [1, 4094]"),
        ("vlan negative", ["client", "--vlan", "-3"], "--vlan"),
        ("vlan_pcp without vlan", ["server", "--vlan-pcp", "3"], "vlan_pcp: given without vlan"),
        ("vlan_pcp above 7", ["server", "--vlan", "10", "--vlan-pcp", "8"], "vlan_pcp: must be in [0, 7]"),
        ("gateway of a third family (a MAC address)", ["server", "--gateway", "02:00:00:00:00:01"],
         "gateway: not an address: '02:00:00:00:00:01'"),
        ("two IPv4 gateways", ["client", "--gateway", "10.1.0.254,10.1.0.253"], "gateway: two IPv4 ranges"),
        ("a gateway range", ["server", "--gateway", "10.0.0.250-10.0.0.254"], "gateway: '10.0.0.250-10.0.0.254' has a range"),
        ("gateway and peer_mac", ["server", "--gateway", "10.0.0.254", "--peer-mac", "02:00:00:00:00:01"],
         "gateway: give either gateway"),
        ("an IPv6 gateway for IPv4 addresses only", ["server", "--gateway", "fd00::fe"],
         "gateway: an IPv6 gateway, but ip has no IPv6 address"),
        ("an IPv4 gateway for a client over IPv6 only", ["client", "--src", "fd00:1::1", "--dst", "fd00::1",
                                                        "--gateway", "10.1.0.254"],
         "gateway: an IPv4 gateway, but src has no IPv4 address"),
        ("gateway for storm", ["storm", "--gateway", "10.0.0.254"], "--gateway: only for server and client, not storm (storm's client and server lanes"),
        # Several ports (--port-id 0,1): per-port lists separated by ';'.
        ("a port given twice", ["server", "--port-id", "0,0"], "port_id: port 0 given twice"),
        ("a port id that is not a number", ["client", "--port-id", "0,eth1"], "port_id: not a port id"),
        ("port_id for storm", ["storm", "--port-id", "1"], "--port-id: only for server and client, not storm (storm makes its own ports"),
        ("three per-port lists for two ports", ["server", "--port-id", "0,1", "--ip", "10.0.0.1;10.0.1.1;10.0.2.1"],
         "ip: 3 lists separated by ';' for 2 port(s)"),
        ("two per-port lists for one port", ["client", "--dst", "10.0.0.1;10.0.1.1"], "dst: 2 lists separated by ';' for 1 port(s)"),
        ("one source tuple shared by two ports", ["client", "--port-id", "0,1", "--src", "10.1.0.1", "--src-ports", "5000"],
         "src: 2 ports share '10.1.0.1' x src_ports '5000'"),
        ("a bad address in the second port's list", ["server", "--port-id", "0,1", "--ip", "10.0.0.1;127.0.0.2"],
         "ip (port 1): '127.0.0.2' is in 127.0.0.0/8"),
        ("a bad MAC in the second port's peer_mac", ["client", "--port-id", "0,1", "--peer-mac", "02:00:00:00:00:01;zz"],
         "peer_mac (port 1): not a MAC address"),
        ("config: port_id array with a negative id", ["server", "--config", conf("ports.toml", "port_id = [0, -1]\n")],
         "key 'port_id' must be a port id in [0, 65535], or an array of them"),
        # The same checks for the config file's keys.
        ("config: IPv6 range reversed",
         ["client", "--config", conf("rev6.toml", 'src = "fd00:1::9-fd00:1::1"\ndst = "fd00::1"\n')],
         "src: range 'fd00:1::9-fd00:1::1' is reversed"),
        ("config: IPv6 range too large", ["server", "--config", conf("big6.toml", 'ip = "fd00::1-fd00::100:1"\n')],
         "ip: IPv6 range 'fd00::1-fd00::100:1' is too large"),
        ("config: two IPv4 ranges", ["client", "--config", conf("two4.toml", 'src = "10.1.0.1, 10.1.0.2"\n')],
         "src: two IPv4 ranges"),
        ("config: vlan 5000", ["server", "--config", conf("vlan.toml", "vlan = 5000\n")], "vlan: must be in [1, 4094]"),
        ("config: vlan not a number", ["server", "--config", conf("vlantype.toml", 'vlan = "ten"\n')],
         "key 'vlan' must be an integer"),
        ("config: vlan_pcp without vlan", ["client", "--config", conf("pcp.toml", "vlan_pcp = 2\n")],
         "vlan_pcp: given without vlan"),
        ("config: gateway of a third family", ["server", "--config", conf("gw.toml", 'gateway = "router.lan"\n')],
         "gateway: not an address: 'router.lan'"),
        ("config: v6_share without IPv6", ["client", "--config", conf("share.toml", "v6_share = 1\n")],
         "v6_share: 1 > 0 needs IPv6"),
        ("config: v6_share not a number", ["client", "--config", conf("sharetype.toml", 'v6_share = "all"\n')],
         "key 'v6_share' must be a number"),
        ("config: family 5", ["storm", "--config", conf("fam.toml", "family = 5\n")], "family: must be 4, 6 or 46"),
    ]

def flood_cases(conf):
    """--flood and its options (engine/flood.hpp), and their config keys."""
    return [
        ("flood kind unknown", ["client", "--flood", "fin"], "flood: must be syn, syn-ack, ack or rst: 'fin'"),
        ("flood for a server", ["server", "--flood", "syn"], "flood: only for client and storm"),
        ("flood_rate above 10^9", ["storm", "--flood", "syn", "--flood-rate", "2000000000"],
         "flood_rate: must be at most 1000000000"),
        ("flood_rate not a number", ["storm", "--flood", "syn", "--flood-rate", "fast"], "--flood-rate"),
        ("flood_rate without --flood", ["storm", "--flood-rate", "1000"], "flood_rate: only with --flood"),
        ("flood_random without --flood", ["client", "--flood-random"], "flood_random: only with --flood"),
        ("legit_rate without --flood", ["storm", "--legit-rate", "100"], "legit_rate: only with --flood"),
        ("rate beside --flood", ["storm", "--flood", "syn", "--rate", "100"],
         "rate: with --flood, legitimate connections are opened at --legit-rate"),
        ("flood_src unparsable", ["client", "--flood", "syn", "--flood-src", "10.2.0"], "flood_src: not an address: '10.2.0'"),
        ("flood_src IPv6", ["client", "--flood", "syn", "--flood-src", "fd00:2::1"], "flood_src: IPv4 addresses only"),
        ("flood_src reversed", ["storm", "--flood", "ack", "--flood-src", "10.2.0.9-10.2.0.1"],
         "flood_src: range '10.2.0.9-10.2.0.1' is reversed"),
        ("flood_src overlapping the legitimate sources",
         ["storm", "--flood", "syn", "--legit-rate", "100", "--flood-src", "10.1.0.60-10.1.1.10"],
         "flood_src: '10.1.0.60-10.1.1.10' overlaps src '10.1.0.1-10.1.0.64'"),
        ("client with legitimate connections and no flood_src", ["client", "--flood", "syn", "--legit-rate", "10"],
         "flood_src: a client opening legitimate connections (--legit-rate) needs the flood's own addresses"),
        ("flood_src_ports reversed", ["client", "--flood", "rst", "--flood-src-ports", "9-1"],
         "flood_src_ports: range '9-1' is reversed"),
        ("flood_src_ports 0", ["storm", "--flood", "syn", "--flood-src-ports", "0"], "flood_src_ports: not a port or range lo[-hi] within [1, 65535]: '0'"),
        ("flood over IPv6 only", ["storm", "--family", "6", "--flood", "syn"], "flood: IPv4 only, but dst has no IPv4"),
        ("config: flood unknown", ["storm", "--config", conf("flood.toml", 'flood = "udp"\n')],
         "flood: must be syn, syn-ack, ack or rst: 'udp'"),
        ("config: flood_rate not a number", ["storm", "--config", conf("floodrate.toml", 'flood = "syn"\nflood_rate = "max"\n')],
         "key 'flood_rate' must be an integer"),
        ("config: flood_random not a boolean", ["storm", "--config", conf("floodrnd.toml", 'flood = "syn"\nflood_random = "yes"\n')],
         "key 'flood_random' must be true or false"),
    ]

def accepted_cases(conf):
    """Inputs that are accepted: `--check` prints what they resolve to and exits 0 (no EAL)."""
    return [
        ("storm --family 6", ["storm", "--family", "6"],
         ["server addresses (--dst): fd00::1\n", "src: fd00:1::1-fd00:1::40 ports", "v6_share: 1\n",
          "lane 0 src: fd00:1::1-fd00:1::40 ports 1024-65535"]),
        ("storm --family 46 --lanes 2: each lane a half of each family's sources", ["storm", "--family", "46", "--lanes", "2"],
         ["server addresses (--dst): 10.0.0.1,fd00::1\n", "v6_share: 0.5\n",
          "lane 0 src: 10.1.0.1-10.1.0.32,fd00:1::1-fd00:1::20 ports 1024-65535",
          "lane 1 src: 10.1.0.33-10.1.0.64,fd00:1::21-fd00:1::40 ports 1024-65535"]),
        ("storm --lanes 4 with 2 IPv6 sources: the ports are split, the same run for both families",
         ["storm", "--lanes", "4", "--src", "10.1.0.1-10.1.0.8,fd00:1::1-fd00:1::2", "--dst", "10.0.0.1,fd00::1",
          "--src-ports", "2000-2007"],
         ["lane 0 src: 10.1.0.1-10.1.0.8,fd00:1::1-fd00:1::2 ports 2000-2001",
          "lane 3 src: 10.1.0.1-10.1.0.8,fd00:1::1-fd00:1::2 ports 2006-2007"]),
        ("storm --family 6 with --dst given: the sources stay the family's", ["storm", "--family", "6", "--dst", "fd00::7"],
         ["server addresses (--dst): fd00::7\n", "src: fd00:1::1-fd00:1::40 ports"]),
        ("storm without --family: IPv4 as before", ["storm"],
         ["server addresses (--dst): 10.0.0.1\n", "src: 10.1.0.1-10.1.0.64 ports", "v6_share: 0\n"]),
        ("client with both families: v6_share 0.5 by default",
         ["client", "--src", "10.1.0.1-10.1.0.64,2001:db8::1-2001:db8::40", "--dst", "10.0.0.1,2001:db8::1"],
         ["src: 10.1.0.1-10.1.0.64,2001:db8::1-2001:db8::40 ports", "dst: 10.0.0.1,2001:db8::1 port 80", "v6_share: 0.5\n"]),
        ("client with IPv6 sources and an IPv4 share of 0: the IPv6 family is dropped",
         ["client", "--src", "10.1.0.1,2001:db8::1", "--dst", "10.0.0.1,2001:db8::2", "--v6-share", "0"],
         ["src: 10.1.0.1 ports", "dst: 10.0.0.1 port", "v6_share: 0\n"]),
        ("server on both families with a VLAN and gateways",
         ["server", "--ip", "10.0.0.1-10.0.0.4,fd00::1-fd00::4", "--vlan", "100", "--vlan-pcp", "5",
          "--gateway", "10.0.0.254,fd00::fe"],
         ["ip: 10.0.0.1-10.0.0.4,fd00::1-fd00::4\n", "vlan: 100 (pcp 5)", "gateway: 10.0.0.254,fd00::fe"]),
        ("config file with every new key",
         ["client", "--config", conf("all.toml", 'src = "10.1.0.1,fd00:1::1"\ndst = "10.0.0.1,fd00::1"\n'
                                                  'v6_share = 0.25\nvlan = 4094\nvlan_pcp = 7\ngateway = "fd00::fe"\n')],
         ["v6_share: 0.25\n", "vlan: 4094 (pcp 7)", "gateway: fd00::fe"]),
        ("two ports sharing the client's sources: a half each", ["client", "--port-id", "0,1"],
         ["port 0 src: 10.1.0.1-10.1.0.32 ports 1024-65535", "port 1 src: 10.1.0.33-10.1.0.64 ports 1024-65535",
          "port 0 dst: 10.0.0.1 port 80", "port 1 dst: 10.0.0.1 port 80"]),
        ("two ports with their own addresses and gateways",
         ["client", "--port-id", "0,1", "--src", "10.1.0.1,fd00:1::1;10.2.0.1,fd00:2::1",
          "--dst", "10.0.0.1,fd00::1;10.0.1.1,fd00::1", "--gateway", "10.1.0.254;fd00:2::fe"],
         ["port 0 src: 10.1.0.1,fd00:1::1 ports", "port 1 src: 10.2.0.1,fd00:2::1 ports", "port 1 dst: 10.0.1.1,fd00::1",
          "port 0 gateway: 10.1.0.254\n", "port 1 gateway: fd00:2::fe\n", "v6_share: 0.5\n"]),
        ("client with several destinations, ports and the random order",
         ["client", "--src", "10.1.0.1,fd00:1::1", "--dst", "10.0.0.1-10.0.0.3,10.0.0.9,fd00::1,fd00::2",
          "--port", "80,8000-8002", "--tuple-order", "random", "--tuple-seed", "7"],
         ["dst: 10.0.0.1-10.0.0.3,10.0.0.9,fd00::1-fd00::2 ports 80,8000-8002\n", "tuple_order: random (seed 7)\n"]),
        ("storm with three destinations on two ports: the server holds them and listens on both",
         ["storm", "--dst", "10.0.0.1-10.0.0.3", "--port", "80,81"],
         ["server addresses (--dst): 10.0.0.1-10.0.0.3\n", "dst: 10.0.0.1-10.0.0.3 ports 80-81\n", "tuple_order: seq\n"]),
        ("config file with a port range and the random order",
         ["client", "--config", conf("tuples.toml", 'dst = "10.0.0.1,10.0.0.5"\nport = "8000-8001"\n'
                                                     'tuple_order = "random"\ntuple_seed = 9\n')],
         ["dst: 10.0.0.1,10.0.0.5 ports 8000-8001\n", "tuple_order: random (seed 9)\n"]),
        ("config file with port = 8080 (a number)", ["client", "--config", conf("port.toml", "port = 8080\n")],
         ["dst: 10.0.0.1 port 8080\n"]),
        ("config file instance, csv and metrics keys (as their options)",
         ["storm", "--config", conf("inst.toml", 'instance = "1/2"\ncsv = "x.csv"\n'
                                                   f'metrics = "127.0.0.1:{free_port()}"\n')],
         ["instance: 1/2: src above is its slice of"]),
        ("config file port_id = [0, 2]", ["server", "--config", conf("ports2.toml", 'port_id = [0, 2]\nip = "10.0.0.1;10.0.2.1"\n')],
         ["port 0 ip: 10.0.0.1\n", "port 2 ip: 10.0.2.1\n"]),
        ("storm --flood syn alone: from --src", ["storm", "--flood", "syn"],
         ["flood: syn from 10.1.0.1-10.1.0.64 ports 1024-65535 (in turn), legitimate connections none"]),
        ("storm --flood syn with legitimate connections: the flood's own addresses",
         ["storm", "--flood", "syn", "--legit-rate", "1000", "--flood-random"],
         ["flood: syn from 10.2.0.1-10.2.0.254 ports 1024-65535 (random), legitimate connections 1000/s"]),
        ("config file with the flood's keys",
         ["client", "--config", conf("flood_ok.toml", 'flood = "ack"\nflood_src = "10.1.9.1-10.1.9.8"\n'
                                                      'flood_src_ports = "2000-2999"\nflood_rate = 5000\n'
                                                      'legit_rate = 20\nflood_seed = 7\nflood_random = true\n')],
         ["flood: ack from 10.1.9.1-10.1.9.8 ports 2000-2999 (random), legitimate connections 20/s"]),
        ("config file family = 6", ["storm", "--config", conf("fam6.toml", "family = 6\n")], ["v6_share: 1\n"]),
        ("config file family = \"46\", the command line's --v6-share wins",
         ["storm", "--config", conf("fam46.toml", 'family = "46"\nv6_share = 0.1\n'), "--v6-share", "0.75"],
         ["v6_share: 0.75\n"]),
    ]

def http_cases(conf):
    """The HTTP options (resolved after parsing: a bad value here once went unnoticed, and unused)."""
    return [
        ("expect_status not a status", ["client", "--expect-status", "2xx,7xx"],
         "expect_status: '7xx' is not a status"),
        ("expect_status range reversed", ["client", "--expect-status", "204-200"], "expect_status: '204-200' is outside"),
        ("route without a status", ["server", "--route", "/a"], "route: '/a' is not PATH=STATUS[:BODY_BYTES]"),
        ("route status out of range", ["server", "--route", "/a=700"], "route: '/a=700': the status must be in 100-599"),
        ("header without a colon", ["client", "--header", "nocolon"], "header: 'nocolon' is not 'Name: value'"),
        ("data_file missing", ["client", "--data-file", "/nonexistent/body"], "data_file: cannot read"),
        ("max_header below its range", ["server", "--max-header", "10"], "max_header: must be in [256, 1048576]"),
        ("expect_status bad in a config file", ["client", "--config", conf("expect.toml", 'expect_status = "abc"\n')],
         "expect_status: 'abc' is not a status"),
    ]

def cli_cases(conf):
    """Every bad value exits 2 naming the option and the reason, whichever parser caught it: CLI11's conversion
    (checked as text first), the config file, the mode table, finalize; the same rule on the command line and in
    the config file."""
    return [
        # Numbers: CLI11 converts an unsigned with strtoull, so "-5" became 2^64 - 5 (--rate -5 ran unlimited).
        ("rate negative", ["client", "--rate", "-5"], "--rate: must not be negative"),
        ("rate negative, short flag", ["client", "-r", "-5"], "--rate: must not be negative"),
        ("config: rate negative", ["client", "--config", conf("rate_neg.toml", "rate = -5\n")],
         "key 'rate' must not be negative"),
        ("total negative", ["client", "-n", "-1"], "--total: must not be negative"),
        ("concurrency fractional", ["client", "--concurrency", "2.5"], "--concurrency: must be a whole number (no fraction)"),
        ("config: port fractional", ["client", "--config", conf("port_frac.toml", "port = 80.5\n")],
         "key 'port' must be a port (a whole number) or a string"),
        ("config: concurrency fractional", ["client", "--config", conf("conc_frac.toml", "concurrency = 2.5\n")],
         "key 'concurrency' must be a whole number"),
        ("rate in hex", ["client", "--rate", "0x10"], "--rate: not a whole number in [0, 18446744073709551615]: '0x10'"),
        ("concurrency beyond its type", ["client", "-c", "4294967296"], "--concurrency: must be in [0, 4294967295]"),
        ("duration -1 (the internal 'not given')", ["client", "--duration", "-1"], "--duration: must not be negative"),
        ("config: duration -1", ["server", "--config", conf("dur_neg.toml", "duration = -1\n")],
         "key 'duration' must not be negative"),
        ("duration nan", ["storm", "-d", "nan"], "--duration: not a number: 'nan'"),
        ("config: duration nan", ["storm", "--config", conf("dur_nan.toml", "duration = nan\n")],
         "key 'duration' must be a number"),
        ("think_ms negative", ["client", "--think-ms", "-3"], "--think-ms: must not be negative"),
        ("config: fail_tolerance negative", ["client", "--config", conf("tol.toml", "fail_tolerance = -0.5\n")],
         "key 'fail_tolerance' must not be negative"),
        ("flood_rate negative", ["storm", "--flood", "syn", "--flood-rate", "-1"], "--flood-rate: must not be negative"),
        ("max_header negative", ["server", "--max-header", "-1"], "--max-header: must not be negative"),
        ("client port 70000", ["client", "--port", "70000"], "port: not a port"),
        ("an unknown option", ["client", "--bogus"], "--bogus"),
        ("an option without its value", ["client", "--rate"], "--rate"),
        # A config file that is not TOML: its line and column.
        ("config: a syntax error names its line", ["server", "--config", conf("syntax2.toml", "body = 5\nmax_conns = = 3\n")],
         "syntax2.toml:2:"),
        # Reversed ranges, each option that takes one, on the command line and in the config file.
        ("dst reversed", ["client", "--dst", "10.0.0.9-10.0.0.1"], "dst: range '10.0.0.9-10.0.0.1' is reversed"),
        ("src reversed", ["client", "--src", "10.1.0.9-10.1.0.1"], "src: range '10.1.0.9-10.1.0.1' is reversed"),
        ("a reversed range in a port list", ["client", "--port", "80,90-85"], "port: range '90-85' is reversed (its first port is above its last) (in '80,90-85')"),
        ("config: src_ports reversed", ["client", "--config", conf("sp_rev.toml", 'src_ports = "2000-1000"\n')],
         "src_ports: range '2000-1000' is reversed"),
        ("config: dst reversed", ["client", "--config", conf("dst_rev.toml", 'dst = "10.0.0.9-10.0.0.1"\n')],
         "dst: range '10.0.0.9-10.0.0.1' is reversed"),
        ("config: flood_src reversed", ["storm", "--config", conf("fs_rev.toml", 'flood = "syn"\nflood_src = "10.2.0.9-10.2.0.1"\n')],
         "flood_src: range '10.2.0.9-10.2.0.1' is reversed"),
        # Options of another mode (apps/modes.cpp): the message says which modes take them.
        ("server --rate", ["server", "--rate", "100"], "--rate: only for client and storm, not server"),
        ("server -c", ["server", "-c", "10"], "--concurrency: only for client and storm, not server"),
        ("server --total", ["server", "--total", "10"], "--total: only for client and storm, not server"),
        ("server --dst", ["server", "--dst", "10.0.0.2"], "--dst: only for client and storm, not server (a server's own addresses are --ip)"),
        ("server --requests", ["server", "--requests", "3"], "--requests: only for client and storm, not server"),
        ("server --no-request", ["server", "--no-request"], "--no-request: only for client and storm, not server"),
        ("server --instance", ["server", "--instance", "0/2"], "--instance: only for client and storm, not server"),
        ("client --behaviour", ["client", "--behaviour", "echo"], "--behaviour: only for server and storm, not client"),
        ("client --body", ["client", "--body", "10"], "--body: only for server and storm, not client"),
        ("client --route", ["client", "--route", "/a=404"], "--route: only for server and storm, not client"),
        ("client --ip", ["client", "--ip", "10.0.0.1"], "--ip: only for server, not client"),
        ("client --lanes", ["client", "--lanes", "2"], "--lanes: only for storm, not client"),
        ("server --v6-share", ["server", "--v6-share", "0.5"], "--v6-share: only for client and storm, not server"),
        ("storm --peer-mac", ["storm", "--peer-mac", "02:00:00:00:00:01"], "--peer-mac: only for server and client, not storm"),
        ("config: server with rate", ["server", "--config", conf("srv_rate.toml", "rate = 100\n")],
         "key 'rate': only for client and storm, not server"),
        ("config: server with [[request]]", ["server", "--config", conf("srv_req.toml", '[[request]]\npath = "/a"\n')],
         "key 'request': only for client and storm, not server"),
        ("config: client with body", ["client", "--config", conf("cli_body.toml", "body = 10\n")],
         "key 'body': only for server and storm, not client"),
        ("config: storm with eal", ["storm", "--config", conf("storm_eal.toml", 'eal = ["-l", "0"]\n')],
         "key 'eal': only for server and client, not storm"),
    ]

def cli_accepted_cases(conf):
    """What the command line's rules still accept, as --check resolves it."""
    return [
        ("leading zeros are decimal (010 is ten, not octal eight)", ["client", "--concurrency", "010"],
         ["concurrency 10 per lcore"]),
        ("config: a whole float is an integer", ["client", "--config", conf("rate_f.toml", "rate = 100.0\n")],
         ["rate 100/s"]),
        ("storm takes both sides' options", ["storm", "--rate", "50", "--body", "100", "--route", "/a=404",
                                             "--requests", "2", "--http-keepalive", "--behaviour", "http"],
         ["rate 50/s"]),
        ("options for every mode on a server", ["server", "--csv", "s.csv", "--json", "s.json", "--close", "client",
                                               "--port", "8080", "--vlan", "7"], ["vlan: 7 (pcp 0)"]),
    ]

def probes(exe):
    """--version, --help, short flags: (description, ok, diagnostic)."""
    out = []
    version = re.compile(r"^synwave \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\)\n$")
    for args in (["--version"], ["client", "--version"], ["storm", "--version"], ["server", "--version"]):
        p = run(exe, args)
        out.append((f"synwave {' '.join(args)} prints 'synwave X.Y.Z (commit abcdef123456)'",
                    p.returncode == 0 and version.match(p.stdout) is not None, f"rc {p.returncode}: {p.stdout!r}"))
    p = run(exe, ["--help"])
    out.append(("synwave --help names merge and plot beside the modes",
                p.returncode == 0 and all(re.search(r"^\s+" + w + r"\b", p.stdout, re.M)
                                          for w in ("storm", "server", "client", "synwave merge", "synwave plot")),
                p.stdout[-800:]))
    wanted = {"client": ["-r,--rate CONNS/S=0", "-c,--concurrency CONNS=2000", "-n,--total CONNS=0",
                         "-d,--duration SECONDS", "--src-ports PORTS=1024-65535", "--max-conns TCBS=262144",
                         "--think-ms MS=0", "--flood-rate FRAMES/S=0", "--tuple-order ORDER=seq", "--flood",
                         "--legit-rate", "--tuple-seed", "--v6-share FRACTION", "--gateway", "--port-id"],
              "server": ["--body BYTES=64", "--max-request-body BYTES=1048576", "--msl-ms MS=0", "--cookies MODE=auto",
                         "--half-open-limit RECORDS=16384", "--config FILE", "--json FILE", "--vlan ID", "--vlan-pcp",
                         "--check", "--ip ADDRS"],
              "storm": ["--lanes LANES=1", "--family", "--rate", "--body", "--loss PERCENT=0"]}
    # Listed: an option at the start of a help line (descriptions name other options).
    absent = {"client": ["--body", "--ip", "--lanes"], "server": ["-r,--rate", "--dst", "--flood", "--requests"],
              "storm": ["--ip", "--port-id", "--gateway"]}
    for mode in wanted:
        p = run(exe, [mode, "--help"])
        miss = [w for w in wanted[mode] if w not in p.stdout]
        extra = [w for w in absent[mode] if re.search(r"^  " + re.escape(w) + " ", p.stdout, re.M)]
        out.append((f"{mode} --help shows its options' units and defaults, and not other modes' options",
                    p.returncode == 0 and not miss and not extra, f"missing {miss}, listed {extra}"))
    # Short flags resolve to the same configuration as the long ones.
    for mode, short, long_ in (("client", ["-c", "7", "-r", "100", "-d", "3", "-n", "9"],
                                ["--concurrency", "7", "--rate", "100", "--duration", "3", "--total", "9"]),
                               ("storm", ["-d", "2.5", "-n", "50", "-c", "30"],
                                ["--duration", "2.5", "--total", "50", "--concurrency", "30"])):
        a, b = run(exe, [mode] + short + ["--check"]), run(exe, [mode] + long_ + ["--check"])
        want = "duration: 3 s\n  connections: rate 100/s, concurrency 7 per lcore, total 9\n" if mode == "client" \
            else "duration: 2.5 s\n  connections: rate unlimited, concurrency 30 per lcore, total 50\n"
        out.append((f"{mode} {' '.join(short)} resolves as {' '.join(long_)}",
                    a.returncode == 0 and a.stdout == b.stdout and want in a.stdout,
                    f"short: {a.stdout!r} {a.stderr!r}\n# long: {b.stdout!r}"))
    return out

def main(exe, confdir=None):
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
        ("src unparsable", ["client", "--src", "10.0.0"], "src: not an address: '10.0.0'"),
        ("ip unparsable", ["server", "--ip", "10.0.0.256"], "ip: not an address: '10.0.0.256'"),
        ("port beyond 65535", ["server", "--port", "70000"], "port: not a port"),
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
        ("negative loss", ["client", "--loss=-1"], "--loss: must not be negative: '-1'"),
        ("loss not a number in a config file", ["server", "--config", conf("loss.toml", 'loss = "some"\n')],
         "key 'loss' must be a number"),
        ("more lanes than address and port slices",
         ["storm", "--lanes", "4", "--src", "10.1.0.1-10.1.0.3", "--src-ports", "5000-5002"],
         "lanes: 4 lanes need as many disjoint source slices, but src '10.1.0.1-10.1.0.3' has 3 address(es) "
         "and src_ports '5000-5002' has 3 port(s)"),
        ("src_ports 0", ["storm", "--src-ports", "0-100"], "src_ports: not a port or range"),
        ("src_ports reversed", ["client", "--src-ports", "2000-1000"], "src_ports: range '2000-1000' is reversed"),
        ("EAL arguments given to storm", ["storm", "--", "-l", "0-40"], "storm builds its own EAL arguments"),
    ] + address_cases(conf) + http_cases(conf) + flood_cases(conf) + cli_cases(conf) + [
        ("EAL arguments given to storm with --check", ["storm", "--check", "--", "-l", "0-40"],
         "storm builds its own EAL arguments"),
        ("more lcores than this process may use", ["server", "--", "-l", "0-4095", "--no-huge", "--no-pci"],
         "lcore list unavailable"),
    ]
    accepted = accepted_cases(conf) + cli_accepted_cases(conf)
    probed = probes(exe)
    configs = [f for f in sorted(os.listdir(confdir)) if f.endswith(".toml")] if confdir else []
    print(f"1..{len(cases) + len(accepted) + len(probed) + len(configs)}")
    failed = 0
    for i, (what, args, needle) in enumerate(cases, 1):
        p = run(exe, args)
        ok = p.returncode == 2 and needle in (p.stderr + p.stdout) and "EAL:" not in p.stderr
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {i} - {what}: exit {p.returncode}, error names it")
        if not ok:
            print(f"# args {args}\n# rc {p.returncode}\n# stderr: {p.stderr.strip()}\n# wanted: {needle}")
    for i, (what, args, needles) in enumerate(accepted, len(cases) + 1):
        p = run(exe, args + ["--check"])
        missing = [n for n in needles if n not in p.stdout]
        ok = p.returncode == 0 and not missing and "EAL" not in p.stderr
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {i} - accepted: {what}")
        if not ok:
            print(f"# args {args}\n# rc {p.returncode}\n# stdout: {p.stdout.strip()}\n# stderr: {p.stderr.strip()}"
                  f"\n# missing: {missing}")
    n = len(cases) + len(accepted)
    for what, ok, diag in probed:
        n += 1
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {n} - {what}")
        if not ok:
            print(f"# {diag}")
    # Every config file shipped in config/ is accepted as it is.
    for name in sorted(os.listdir(confdir)) if confdir else []:
        if not name.endswith(".toml"):
            continue
        mode = "storm" if name.startswith("storm") else "server" if "server" in name else "client"
        n += 1
        p = run(exe, [mode, "--config", os.path.join(confdir, name), "--check"])
        ok = p.returncode == 0 and p.stdout.startswith("synwave " + mode)
        failed += not ok
        print(f"{'ok' if ok else 'not ok'} {n} - config/{name} accepted by {mode} --check")
        if not ok:
            print(f"# rc {p.returncode}\n# stderr: {p.stderr.strip()}")
    shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
