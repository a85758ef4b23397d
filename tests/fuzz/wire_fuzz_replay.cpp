// A gtest-free, clang-free driver for the wire fuzz target, run by the test suite (fuzz_wire_replay): feeds
// LLVMFuzzerTestOneInput about 2*10^5 inputs from a fixed seed, half random bytes shaped like frames and half
// mutations of the real captures (bit flips, byte writes, truncation, growth, inserted and removed bytes,
// with the checksums repaired afterwards half the time so the mutations reach past them). A broken
// invariant aborts; a run that never accepted one kind of frame or never produced one Drop reason fails
// too (the generators no longer reach that path, so the run proves nothing about it). The exit status is
// the verdict.
//
//   fuzz_wire_replay [iterations]          run (default 200000)
//   fuzz_wire_replay --write-corpus DIR    write the captures as libFuzzer seed files and exit
#include "captures.hpp"
#include "wire/frame.hpp"

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

// Recomputes whatever IPv4, TCP and ICMP checksums the frame's structure lets us locate, without the parser
// (so a frame with, say, bad flags still gets a right checksum and reaches the flags check).
void repair_checksums(Bytes& f) {
    if (f.size() < 14) return;
    size_t l3 = 14;
    uint16_t type = load_be16(&f[12]);
    if (type == eth::kTypeVlan && f.size() >= 18) {
        type = load_be16(&f[16]);
        l3 = 18;
    }
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

Bytes random_frame(std::mt19937& rng) {
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
    const auto& c = captures::kAll[rng() % std::size(captures::kAll)];
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
    for (const auto& c : captures::kAll) {
        const std::string path = std::string(dir) + "/" + c.name;
        FILE* fp = std::fopen(path.c_str(), "wb");
        if (!fp || std::fwrite(c.data, 1, c.len, fp) != c.len) {
            std::perror(path.c_str());
            return 1;
        }
        std::fclose(fp);
    }
    std::printf("wrote %zu seeds to %s\n", std::size(captures::kAll), dir);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 200000;
    std::mt19937 rng(0xF022);
    uint64_t accepted[3] = {}, dropped[kDropCount] = {};
    for (long i = 0; i < iterations; ++i) {
        const Bytes f = i % 2 ? mutated_capture(rng) : random_frame(rng);
        // A heap copy of exactly the input's size, so ASan (when built with it) sees any overread.
        auto* p = static_cast<uint8_t*>(std::malloc(f.size() ? f.size() : 1));
        if (!f.empty()) std::memcpy(p, f.data(), f.size());
        LLVMFuzzerTestOneInput(p, f.size());
        ParsedFrame out;
        const Drop d = parse_frame(p, static_cast<uint32_t>(f.size()), {}, out);
        if (d == Drop::None) ++accepted[static_cast<int>(out.kind)];
        else ++dropped[static_cast<size_t>(d)];
        std::free(p);
    }
    std::printf("fuzz_wire_replay: %ld inputs; accepted arp %llu, icmp %llu, tcp %llu\n", iterations,
                static_cast<unsigned long long>(accepted[0]), static_cast<unsigned long long>(accepted[1]),
                static_cast<unsigned long long>(accepted[2]));
    int unreached = 0;
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
