// Capture of what a port sends and receives, in the pcap format Wireshark and tshark read.
//
// dpdk-dumpcap cannot attach to a --no-shconf process (it runs as a DPDK secondary process, and
// --no-shconf leaves no shared configuration to attach to), so synwave writes its own capture:
// libpcap's pcap_open_dead + pcap_dump_open, nanosecond timestamps (magic 0xa1b23c4d), link type
// Ethernet (DLT_EN10MB). One writer per lcore, each to its own file (per_lcore_pcap_path), so lcores
// never share a FILE; `mergecap -w all.pcap trace-lcore*.pcap` merges them by time.
//
// Capture is a diagnostic mode: pcap_dump copies into stdio's buffer (no system call per frame), but it
// is not free. Timestamps are passed in (time is a parameter): PcapClock turns the engine's TSC instant
// into wall-clock nanoseconds from one anchor taken at start-up.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "io/result.hpp"

struct rte_mbuf;
struct pcap;
struct pcap_dumper;

namespace synwave::io {

// Wall-clock nanoseconds since the Unix epoch from a TSC instant: anchor (a TSC reading and the wall
// clock at the same moment, taken once at start-up) plus the elapsed cycles converted with the TSC rate.
struct PcapClock {
    TscRate rate;
    Instant anchor_tsc;
    uint64_t anchor_unix_ns = 0;
    [[nodiscard]] constexpr uint64_t unix_ns(Instant now) const {
        return anchor_unix_ns + rate.to_ns(now - anchor_tsc);
    }
};

// "trace.pcap", lcore 3 -> "trace-lcore3.pcap"; no extension -> "<base>-lcore3.pcap".
[[nodiscard]] std::string per_lcore_pcap_path(std::string_view base, unsigned lcore);

class PcapWriter {
public:
    // 65535: tcpdump's default snapshot length, enough for any frame synwave sends (MTU 9000 included).
    static constexpr uint32_t kDefaultSnaplen = 65535;

    // Creates (truncates) `path`. Frames longer than `snaplen` are cut to it (the record keeps the
    // original length, as tcpdump -s does).
    [[nodiscard]] static Result<PcapWriter> open(const std::string& path, uint32_t snaplen = kDefaultSnaplen);

    PcapWriter(PcapWriter&& o) noexcept;
    PcapWriter& operator=(PcapWriter&& o) noexcept;
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;
    ~PcapWriter();  // close()

    // One frame, `len` bytes at `data`, stamped `unix_ns` nanoseconds after the epoch.
    void write(const uint8_t* data, uint32_t len, uint64_t unix_ns);
    // One frame from an mbuf; a chain of segments is written as one frame.
    void write(const rte_mbuf* m, uint64_t unix_ns);

    // Pushes buffered records to the file (pcap_dump_flush).
    [[nodiscard]] Result<void> flush();
    // Flushes and closes; later writes are ignored. Idempotent.
    void close();

    [[nodiscard]] bool is_open() const { return dumper_ != nullptr; }
    [[nodiscard]] uint64_t frames() const { return frames_; }
    [[nodiscard]] uint64_t bytes() const { return bytes_; }         // captured bytes written
    [[nodiscard]] uint64_t truncated() const { return truncated_; } // frames cut to snaplen
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    PcapWriter() = default;
    pcap* pcap_ = nullptr;
    pcap_dumper* dumper_ = nullptr;
    uint32_t snaplen_ = kDefaultSnaplen;
    uint64_t frames_ = 0;
    uint64_t bytes_ = 0;
    uint64_t truncated_ = 0;
    std::string path_;
    std::vector<uint8_t> scratch_;  // linearises multi-segment mbufs; sized to snaplen at open()
};

}  // namespace synwave::io
