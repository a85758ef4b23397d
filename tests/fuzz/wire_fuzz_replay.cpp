// A gtest-free, clang-free driver for the wire fuzz target, run by the test suite (fuzz_wire_replay): feeds
// LLVMFuzzerTestOneInput about 2*10^5 inputs from a fixed seed, half random bytes shaped like frames and half
// mutations of the real captures, IPv4 and IPv6 (bit flips, byte writes, truncation, growth, inserted and
// removed bytes, with the checksums repaired afterwards half the time so the mutations reach past them).
// A quarter of the random frames are IPv6 with a random extension header chain (hop-by-hop, routing,
// fragment, destination options, unknown) in front of TCP, an echo or a Neighbor Solicitation or
// Advertisement with random options. A broken
// invariant aborts; a run that never accepted one kind of frame or never produced one Drop reason fails
// too (the generators no longer reach that path, so the run proves nothing about it). The exit status is
// the verdict.
//
//   fuzz_wire_replay [iterations]          run (default 200000)
//   fuzz_wire_replay --write-corpus DIR    write the captures as libFuzzer seed files and exit
#include "captures.hpp"
#include "captures6.hpp"
#include "wire/frame.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

using namespace synwave;
using namespace synwave::wire;

namespace {

using Bytes = std::vector<uint8_t>;

// The TCP or ICMPv6 checksum of an IPv6 packet at `l3`, found past any chain of extension headers.
void repair_checksums6(Bytes& f, size_t l3) {
    if (f.size() < l3 + 40) return;
    const size_t end = l3 + 40 + load_be16(&f[l3 + 4]);
    if (end > f.size()) return;
    uint8_t next = f[l3 + 6];
    size_t off = l3 + 40;
    for (int n = 0; n < 12 && (next == 0 || next == 43 || next == 44 || next == 60); ++n) {
        if (off + 8 > end) return;
        const size_t len = next == 44 ? 8 : (size_t{f[off + 1]} + 1) * 8;
        next = f[off];
        off += len;
    }
    if (off > end || (next != 6 && next != 58)) return;
    const size_t at = off + (next == 6 ? tcp::kOffCsum : icmp6::kOffCsum);
    if (at + 2 > end) return;
    const auto len = static_cast<uint32_t>(end - off);
    store_raw16(&f[at], 0);
    const uint32_t ph = csum_pseudo6(load_ipv6(&f[l3 + 8]), load_ipv6(&f[l3 + 24]), next, len);
    store_raw16(&f[at], csum_finish(csum_add(&f[off], len, ph)));
}

// Recomputes whatever IPv4, TCP, ICMP and ICMPv6 checksums the frame's structure lets us locate, without the
// parser (so a frame with, say, bad flags still gets a right checksum and reaches the flags check).
void repair_checksums(Bytes& f) {
    if (f.size() < 14) return;
    size_t l3 = 14;
    uint16_t type = load_be16(&f[12]);
    if (type == eth::kTypeVlan && f.size() >= 18) {
        type = load_be16(&f[16]);
        l3 = 18;
    }
    if (type == eth::kTypeIpv6) return repair_checksums6(f, l3);
    if (type != eth::kTypeIpv4 || f.size() < l3 + 20) return;
    uint8_t* ip = &f[l3];
    const uint32_t ihl = (ip[0] & 0x0Fu) * 4;
    if (ihl < 20 || l3 + ihl > f.size()) return;
    store_raw16(ip + ipv4::kOffCsum, 0);
    store_raw16(ip + ipv4::kOffCsum, csum_finish(csum_add(ip, ihl, 0)));
    const uint32_t total = load_be16(ip + 2);
    if (total < ihl || l3 + total > f.size()) return;
    uint8_t* l4 = ip + ihl;
    const auto l4_len = static_cast<uint16_t>(total - ihl);
    if (ip[ipv4::kOffProto] == ipv4::kProtoTcp && l4_len >= tcp::kOffCsum + 2) {
        store_raw16(l4 + tcp::kOffCsum, 0);
        const uint32_t ph = csum_pseudo(Ipv4{load_be32(ip + 12)}, Ipv4{load_be32(ip + 16)}, 6, l4_len);
        store_raw16(l4 + tcp::kOffCsum, csum_finish(csum_add(l4, l4_len, ph)));
    } else if (ip[ipv4::kOffProto] == ipv4::kProtoIcmp && l4_len >= icmp::kOffCsum + 2) {
        store_raw16(l4 + icmp::kOffCsum, 0);
        store_raw16(l4 + icmp::kOffCsum, csum_finish(csum_add(l4, l4_len, 0)));
    }
}

// Random bytes shaped like an IPv6 frame: Ethernet (+ tag), an IPv6 header with plausible addresses, a chain
// of extension headers, and TCP, an echo, an NS or an NA with random options; checksums repaired mostly.
Bytes random_frame6(std::mt19937& rng) {
    auto byte = [&] { return static_cast<uint8_t>(rng()); };
    const size_t l3 = rng() % 4 == 0 ? 18 : 14;
    Bytes f(l3 + 40);
    for (auto& b : f) b = byte();
    store_be16(&f[12], l3 == 18 ? eth::kTypeVlan : eth::kTypeIpv6);
    if (l3 == 18) store_be16(&f[16], eth::kTypeIpv6);
    static const char* const kAddrs[] = {"2001:db8::1", "2001:db8::2", "fe80::1", "::", "::1", "ff02::1",
                                         "ff02::1:ff00:2", "::ffff:192.0.2.1", "2001:db8::1:ff00:2"};
    const auto addr = [&] { return *Ipv6::parse(kAddrs[rng() % std::size(kAddrs)]); };
    store_be32(&f[l3], (rng() % 16 == 0 ? byte() : 0x60u) << 24 | (static_cast<uint32_t>(rng()) & 0xFFFFFFu));
    f[l3 + 7] = rng() % 2 ? 255 : byte();
    store_ipv6(&f[l3 + 8], rng() % 4 ? *Ipv6::parse("2001:db8::1") : addr());
    store_ipv6(&f[l3 + 24], rng() % 4 ? *Ipv6::parse("2001:db8::2") : addr());
    // The chain: usually none, sometimes up to 10 headers (the walk stops at 8).
    static constexpr uint8_t kUpper[] = {6, 6, 58, 58, 58, 17, 59};
    const uint8_t upper = kUpper[rng() % std::size(kUpper)];
    const bool long_chain = rng() % 32 == 0;  // 8 to 10 plain destination options headers
    const size_t n_ext = long_chain ? 8 + rng() % 3 : rng() % 3 ? 0 : rng() % 11;
    size_t next_at = l3 + 6;
    for (size_t i = 0; i < n_ext; ++i) {
        static constexpr uint8_t kExt[] = {0, 43, 44, 60, 60, 60};
        const uint8_t type = long_chain ? 60 : kExt[rng() % std::size(kExt)];
        f[next_at] = type;
        const size_t at = f.size();
        const size_t len = type == 44 ? 8 : 8 * (1 + (rng() % 4 == 0 ? rng() % 3 : 0));
        f.resize(at + len);
        for (size_t k = at; k < at + len; ++k) f[k] = long_chain || rng() % 8 ? 0 : byte();  // mostly Pad1
        if (type != 44) f[at + 1] = static_cast<uint8_t>(rng() % 16 == 0 ? byte() : len / 8 - 1);
        if (type == 43 && rng() % 2) f[at + 3] = 0;       // a spent routing header
        if (type == 44 && rng() % 2) f[at + 2] = f[at + 3] = 0;  // an atomic fragment
        next_at = at;
    }
    f[next_at] = upper;
    const size_t l4 = f.size();
    if (upper == 6) {
        f.resize(l4 + 20 + rng() % 40);
        for (size_t k = l4; k < f.size(); ++k) f[k] = byte();
        f[l4 + 12] = static_cast<uint8_t>((5 + rng() % 3) << 4);
        f[l4 + 13] = static_cast<uint8_t>(rng() % 2 ? tcpflag::ACK | (rng() & 0x2F) : rng());
    } else if (upper == 58) {
        static constexpr uint8_t kTypes[] = {128, 129, 135, 135, 136, 136, 133, 2};
        const uint8_t type = kTypes[rng() % std::size(kTypes)];
        if (type == 135 || type == 136) {
            f.resize(l4 + 24);
            f[l4 + 4] = byte();
            store_ipv6(&f[l4 + 8], rng() % 8 ? *Ipv6::parse("2001:db8::2") : addr());
            for (int o = static_cast<int>(rng() % 4); o > 0; --o) {  // options: mostly link-layer addresses
                const uint8_t olen = rng() % 8 == 0 ? static_cast<uint8_t>(rng() % 3) : 1;
                const size_t at = f.size();
                f.resize(at + (olen ? olen * 8u : 8u));
                f[at] = static_cast<uint8_t>(rng() % 4 ? 1 + rng() % 2 : rng() % 20);
                f[at + 1] = olen;
                for (size_t k = at + 2; k < f.size(); ++k) f[k] = byte();
            }
            if (rng() % 8 == 0) f.resize(f.size() - rng() % 10);
        } else {
            f.resize(l4 + 4 + rng() % 60);
            for (size_t k = l4 + 4; k < f.size(); ++k) f[k] = byte();
        }
        f[l4] = type;
        f[l4 + 1] = rng() % 8 == 0 ? byte() : 0;
    } else {
        f.resize(l4 + rng() % 20, 0);
    }
    store_be16(&f[l3 + 4], static_cast<uint16_t>(f.size() - l3 - 40 + (rng() % 8 == 0 ? rng() % 8 : 0)));
    if (rng() % 8 == 0) f.resize(f.size() - rng() % std::min<size_t>(f.size(), 50));
    if (rng() % 8 != 0) repair_checksums(f);
    return f;
}

Bytes random_frame(std::mt19937& rng) {
    if (rng() % 4 == 0) return random_frame6(rng);
    Bytes f(rng() % 160);
    for (auto& b : f) b = static_cast<uint8_t>(rng());
    if (f.size() >= 14 && rng() % 4 != 0) {  // shape it: a plausible ethertype and IPv4 header start
        static constexpr std::array<uint16_t, 6> kTypes = {0x0800, 0x0800, 0x0800, 0x0806, 0x8100, 0x88A8};
        store_be16(&f[12], kTypes[rng() % kTypes.size()]);
        if (f.size() >= 18 && load_be16(&f[12]) == 0x8100) store_be16(&f[16], rng() % 2 ? 0x0800 : 0x8100);
        const size_t l3 = load_be16(&f[12]) == 0x8100 ? 18 : 14;
        if (f.size() >= l3 + 20 && rng() % 2) {
            f[l3] = static_cast<uint8_t>(0x45 + (rng() % 3 == 0 ? rng() % 11 : 0));
            store_be16(&f[l3 + 2], static_cast<uint16_t>(f.size() - l3 - (rng() % 3 == 0 ? rng() % 8 : 0)));
            store_be16(&f[l3 + 6], rng() % 2 ? 0x4000 : static_cast<uint16_t>(rng()));
            if (rng() % 16 == 0) f[l3 + 12] = 0;  // a source in 0.0.0.0/8
            f[l3 + 9] = static_cast<uint8_t>(std::array<int, 4>{6, 6, 1, 17}[rng() % 4]);
            const size_t l4 = l3 + 20;
            if (f[l3] == 0x45 && f[l3 + 9] == 6 && f.size() >= l4 + 20) {  // a TCP header that may pass
                f[l4 + 12] = static_cast<uint8_t>((5 + rng() % 3) << 4);
                f[l4 + 13] = static_cast<uint8_t>(rng() % 2 ? tcpflag::ACK | (rng() & 0x2F) : rng());
            }
        }
    }
    if (rng() % 2) repair_checksums(f);
    return f;
}

Bytes mutated_capture(std::mt19937& rng) {
    constexpr size_t n4 = std::size(captures::kAll), n6 = std::size(captures::kAll6);
    const size_t pick = rng() % (n4 + n6);
    const auto& c = pick < n4 ? captures::kAll[pick] : captures::kAll6[pick - n4];
    Bytes f(c.data, c.data + c.len);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !f.empty(); ++e) {
        const size_t at = rng() % f.size();
        switch (rng() % 7) {
        case 0: f[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: f[at] = static_cast<uint8_t>(rng()); break;
        case 2: f[at] = static_cast<uint8_t>(std::array<int, 6>{0, 1, 2, 0xFF, 0x7F, 0x80}[rng() % 6]); break;
        case 3: f.resize(at); break;
        case 4: f.insert(f.begin() + static_cast<long>(at), static_cast<uint8_t>(rng())); break;
        case 5: f.erase(f.begin() + static_cast<long>(at)); break;
        case 6: {
            const size_t grow = rng() % 64;
            f.resize(f.size() + grow, static_cast<uint8_t>(rng()));
            break;
        }
        }
    }
    if (rng() % 2) repair_checksums(f);
    return f;
}

int write_corpus(const char* dir) {
    for (const auto* all : {&captures::kAll[0], &captures::kAll6[0]}) {
        const size_t n = all == captures::kAll ? std::size(captures::kAll) : std::size(captures::kAll6);
        for (size_t i = 0; i < n; ++i) {
            const auto& c = all[i];
            const std::string path = std::string(dir) + "/" + c.name;
            FILE* fp = std::fopen(path.c_str(), "wb");
            if (!fp || std::fwrite(c.data, 1, c.len, fp) != c.len) {
                std::perror(path.c_str());
                if (fp) std::fclose(fp);
                return 1;
            }
            std::fclose(fp);
        }
    }
    std::printf("wrote %zu seeds to %s\n", std::size(captures::kAll) + std::size(captures::kAll6), dir);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 200000;
    std::mt19937 rng(0xF022);
    constexpr const char* kKinds[] = {"arp", "icmp", "tcp", "icmp6", "ns", "na"};
    uint64_t accepted[std::size(kKinds)] = {}, accepted_tcp6 = 0, dropped[kDropCount] = {};
    for (long i = 0; i < iterations; ++i) {
        const Bytes f = i % 2 ? mutated_capture(rng) : random_frame(rng);
        // A heap copy of exactly the input's size, so ASan (when built with it) sees any overread.
        auto* p = static_cast<uint8_t*>(std::malloc(f.size() ? f.size() : 1));
        if (!f.empty()) std::memcpy(p, f.data(), f.size());
        LLVMFuzzerTestOneInput(p, f.size());
        ParsedFrame out;
        const Drop d = parse_frame(p, static_cast<uint32_t>(f.size()), {}, out);
        if (d == Drop::None) {
            ++accepted[static_cast<int>(out.kind)];
            accepted_tcp6 += out.kind == FrameKind::Tcp && out.ip_version == 6;
        } else {
            ++dropped[static_cast<size_t>(d)];
        }
        std::free(p);
    }
    std::printf("fuzz_wire_replay: %ld inputs; accepted", iterations);
    for (size_t k = 0; k < std::size(kKinds); ++k)
        std::printf(" %s %llu,", kKinds[k], static_cast<unsigned long long>(accepted[k]));
    std::printf(" of which tcp over ipv6 %llu\n", static_cast<unsigned long long>(accepted_tcp6));
    int unreached = accepted_tcp6 == 0;
    for (size_t k = 0; k < std::size(accepted); ++k) unreached += accepted[k] == 0;
    for (size_t r = 1; r < kDropCount; ++r) {
        std::printf("  %-24s %llu%s\n", drop_name(static_cast<Drop>(r)), static_cast<unsigned long long>(dropped[r]),
                    dropped[r] == 0 ? "  <- never reached" : "");
        unreached += dropped[r] == 0;
    }
    if (unreached != 0) {
        std::fprintf(stderr, "fuzz_wire_replay: %d frame kinds or drop reasons never reached\n", unreached);
        return 1;
    }
    return 0;
}
