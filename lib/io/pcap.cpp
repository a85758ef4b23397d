// pcap capture writer; see pcap.hpp.
#include "io/pcap.hpp"

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <utility>

namespace synwave::io {

std::string per_lcore_pcap_path(std::string_view base, unsigned lcore) {
    const std::string tag = "-lcore" + std::to_string(lcore);
    const size_t slash = base.find_last_of('/');
    const size_t dot = base.find_last_of('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash) || dot == 0 ||
        (slash != std::string_view::npos && dot == slash + 1))
        return std::string(base) + tag + ".pcap";
    return std::string(base.substr(0, dot)) + tag + std::string(base.substr(dot));
}

Result<PcapWriter> PcapWriter::open(const std::string& path, uint32_t snaplen) {
    if (snaplen == 0) return Error{"pcap '" + path + "': snaplen must be positive"};
    PcapWriter w;
    w.path_ = path;
    w.snaplen_ = snaplen;
    // Nanosecond precision: at millions of packets per second microseconds would stamp many frames alike.
    w.pcap_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen), PCAP_TSTAMP_PRECISION_NANO);
    if (w.pcap_ == nullptr) return Error{"pcap '" + path + "': pcap_open_dead failed"};
    w.dumper_ = pcap_dump_open(w.pcap_, path.c_str());
    if (w.dumper_ == nullptr) return Error{"pcap '" + path + "': cannot create file: " + pcap_geterr(w.pcap_)};
    w.scratch_.resize(snaplen);
    return w;
}

PcapWriter::PcapWriter(PcapWriter&& o) noexcept
    : pcap_(std::exchange(o.pcap_, nullptr)), dumper_(std::exchange(o.dumper_, nullptr)), snaplen_(o.snaplen_),
      frames_(o.frames_), bytes_(o.bytes_), truncated_(o.truncated_), path_(std::move(o.path_)),
      scratch_(std::move(o.scratch_)) {}

PcapWriter& PcapWriter::operator=(PcapWriter&& o) noexcept {
    if (this != &o) {
        close();
        pcap_ = std::exchange(o.pcap_, nullptr);
        dumper_ = std::exchange(o.dumper_, nullptr);
        snaplen_ = o.snaplen_;
        frames_ = o.frames_;
        bytes_ = o.bytes_;
        truncated_ = o.truncated_;
        path_ = std::move(o.path_);
        scratch_ = std::move(o.scratch_);
    }
    return *this;
}

PcapWriter::~PcapWriter() { close(); }

void PcapWriter::write(const uint8_t* data, uint32_t len, uint64_t unix_ns) {
    if (dumper_ == nullptr) return;
    pcap_pkthdr h{};
    // With PCAP_TSTAMP_PRECISION_NANO the "usec" field carries nanoseconds (pcap-savefile(5)).
    h.ts.tv_sec = static_cast<time_t>(unix_ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(unix_ns % 1'000'000'000);
    h.len = len;
    h.caplen = std::min(len, snaplen_);
    truncated_ += h.caplen < len;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, data);
    ++frames_;
    bytes_ += h.caplen;
}

void PcapWriter::write(const rte_mbuf* m, uint64_t unix_ns) {
    if (dumper_ == nullptr) return;
    // The first min(len, snaplen) bytes, all write() above reads: rte_pktmbuf_read points into the mbuf
    // when they lie in the first segment (no copy) and linearises a chain into scratch_ otherwise.
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    const void* p = rte_pktmbuf_read(m, 0, std::min(len, snaplen_), scratch_.data());
    if (p != nullptr) write(static_cast<const uint8_t*>(p), len, unix_ns);
}

Result<void> PcapWriter::flush() {
    if (dumper_ == nullptr) return Error{"pcap '" + path_ + "': not open"};
    if (pcap_dump_flush(dumper_) != 0) return Error{"pcap '" + path_ + "': write failed (disk full?)"};
    return {};
}

void PcapWriter::close() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);  // flushes and closes the file
    if (pcap_ != nullptr) pcap_close(pcap_);
    dumper_ = nullptr;
    pcap_ = nullptr;
}

}  // namespace synwave::io
