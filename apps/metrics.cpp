#include "metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_lcore.h>

#include <cerrno>
#include <csignal>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "options.hpp"
#include "runner.hpp"
#include "version.hpp"

namespace synwave::app {

namespace {

void append_u64(std::string& out, uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// The shortest text that reads back as the same double (Prometheus parses it as Go's ParseFloat does).
void append_double(std::string& out, double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void family(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += escape_help(help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// name{side="client",lcore="3"<extra>} (extra: ",key=\"value\"" pairs, already escaped).
void labels(std::string& out, std::string_view name, const MetricsLane& l, std::string_view extra = {}) {
    out += name;
    out += l.client ? "{side=\"client\",lcore=\"" : "{side=\"server\",lcore=\"";
    append_u64(out, l.lcore);
    out += '"';
    out += extra;
    out += "} ";
}

void emit(std::string& out, std::string_view name, const MetricsLane& l, uint64_t v, std::string_view extra = {}) {
    labels(out, name, l, extra);
    append_u64(out, v);
    out += '\n';
}

// Table entries that are not counts of events (they do not only go up): gauges, without _total.
bool is_gauge(std::string_view name) { return name == "sink_first_mismatch"; }

// One family per entry of a counter table, read from each lane by `get`.
template <stats::CounterTable T, typename Get>
void table(std::string& out, std::string_view table_name, const std::vector<MetricsLane>& lanes, Get get) {
    std::string prefix = "synwave_";
    prefix += table_name;
    prefix += '_';
    for (std::size_t i = 0; i < T::kCount; ++i) {
        const std::string_view n = T::kNames[i];
        const bool gauge = is_gauge(n);
        std::string name = prefix;
        // flood_tx in the flood table: synwave_flood_tx_total, not synwave_flood_flood_tx_total.
        name += n.starts_with(prefix.substr(8)) ? n.substr(prefix.size() - 8) : n;
        if (!gauge) name += "_total";
        family(out, name, T::kHelp[i], gauge ? "gauge" : "counter");
        for (const MetricsLane& l : lanes) emit(out, name, l, get(l)[static_cast<typename T::Id>(i)]);
    }
}

struct HistFamily {
    std::string_view name, help;
    const stats::LatencyHistogram engine::Latencies::*h;
};
constexpr std::array<HistFamily, 3> kHistograms{{
    {"synwave_connect_latency_seconds", "client: connect() (SYN sent) to ESTABLISHED", &engine::Latencies::connect},
    {"synwave_first_byte_latency_seconds", "client: request sent to the first byte of its response",
     &engine::Latencies::first_byte},
    {"synwave_response_latency_seconds", "client: request sent to its complete response", &engine::Latencies::response},
}};

void histogram(std::string& out, const HistFamily& f, const std::vector<MetricsLane>& lanes) {
    bool any = false;
    for (const MetricsLane& l : lanes) any |= l.client;
    if (!any) return;  // no family without samples: a server has no latencies
    family(out, f.name, f.help, "histogram");
    const std::string bucket = std::string(f.name) + "_bucket";
    for (const MetricsLane& l : lanes) {
        if (!l.client) continue;
        const stats::LatencyHistogram& h = l.s.lat.*f.h;
        const auto cum = cumulative_counts(h);
        for (std::size_t k = 0; k < kLeBounds.size(); ++k)
            emit(out, bucket, l, cum[k], std::string(",le=\"") + std::string(kLeBounds[k].text) + "\"");
        emit(out, bucket, l, h.count(), ",le=\"+Inf\"");
        labels(out, std::string(f.name) + "_sum", l);
        append_double(out, static_cast<double>(h.sum()) / 1e9);
        out += '\n';
        emit(out, std::string(f.name) + "_count", l, h.count());
    }
}

}  // namespace

std::string escape_help(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_label(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::array<uint64_t, kLeBounds.size()> cumulative_counts(const stats::LatencyHistogram& h) {
    std::array<uint64_t, kLeBounds.size()> cum{};
    std::size_t k = 0;
    uint64_t below = 0;  // samples in buckets whose highest value is <= kLeBounds[k]
    for (std::size_t i = 0; i < stats::LatencyHistogram::kBuckets && k < kLeBounds.size(); ++i) {
        const uint64_t n = h.bucket_count(i);
        if (n == 0) continue;
        while (k < kLeBounds.size() && stats::LatencyHistogram::bucket_upper(i) > kLeBounds[k].ns) cum[k++] = below;
        below += n;
    }
    for (; k < kLeBounds.size(); ++k) cum[k] = below;
    return cum;
}

std::string exposition(const std::vector<MetricsLane>& lanes, const MetricsInfo& info) {
    std::string out;
    out.reserve(64 * 1024);
    family(out, "synwave_info", "the synwave build and the mode of this run", "gauge");
    out += "synwave_info{version=\"" + escape_label(info.version) + "\",commit=\"" + escape_label(info.commit) +
           "\",mode=\"" + escape_label(info.mode) + "\"} 1\n";
    family(out, "synwave_start_time_seconds", "wall clock when the run's lanes were ready to start (Unix seconds)",
           "gauge");
    out += "synwave_start_time_seconds ";
    append_double(out, info.start_unix_s);
    out += '\n';

    family(out, "synwave_connections_active", "open connections (TCBs in use) now", "gauge");
    for (const MetricsLane& l : lanes) emit(out, "synwave_connections_active", l, l.s.active);
    family(out, "synwave_timewait_records", "TIME_WAIT records held now", "gauge");
    for (const MetricsLane& l : lanes) emit(out, "synwave_timewait_records", l, l.s.timewait);
    family(out, "synwave_half_open_records", "SYN-RECEIVED records held now", "gauge");
    for (const MetricsLane& l : lanes) emit(out, "synwave_half_open_records", l, l.s.half_open);

    // As node_exporter's node_tcp_connection_states: a gauge per state.
    family(out, "synwave_tcp_connection_states",
           "open connections by TCP state now (SYN-RECEIVED and TIME-WAIT: the records)", "gauge");
    for (const MetricsLane& l : lanes)
        for (std::size_t i = 0; i < tcp::kStateCount; ++i)
            emit(out, "synwave_tcp_connection_states", l, l.s.states[i],
                 std::string(",state=\"") + tcp::state_name(static_cast<tcp::State>(i)) + "\"");

    table<engine::AppCounters>(out, "app", lanes, [](const MetricsLane& l) -> const auto& { return l.s.app; });
    table<tcp::TcpEventCounters>(out, "tcp", lanes,
                                 [](const MetricsLane& l) -> const auto& { return l.s.tcp.events(); });
    table<engine::EngineCounters>(out, "engine", lanes, [](const MetricsLane& l) -> const auto& { return l.s.engine; });
    table<engine::FloodCounters>(out, "flood", lanes, [](const MetricsLane& l) -> const auto& { return l.s.flood; });

    family(out, "synwave_tcp_state_entered_total", "transitions into each TCP state", "counter");
    for (const MetricsLane& l : lanes)
        for (std::size_t i = 0; i < tcp::kStateCount; ++i)
            emit(out, "synwave_tcp_state_entered_total", l, l.s.tcp.entered[i],
                   std::string(",state=\"") + tcp::state_name(static_cast<tcp::State>(i)) + "\"");
    family(out, "synwave_engine_rx_dropped_by_reason_total", "frames dropped by the parser, by reason", "counter");
    for (const MetricsLane& l : lanes)
        for (std::size_t i = 1; i < wire::kDropCount; ++i)  // 0 is "no drop"
            emit(out, "synwave_engine_rx_dropped_by_reason_total", l, l.s.drops[i],
                   std::string(",reason=\"") + wire::drop_name(static_cast<wire::Drop>(i)) + "\"");

    for (const HistFamily& f : kHistograms) histogram(out, f, lanes);
    return out;
}

std::string parse_metrics_address(const std::string& text, sockaddr_storage& addr, socklen_t& len) {
    const std::string what = "'" + text + "' is not ADDR:PORT (an IPv4 address, or an IPv6 one in brackets, and a "
                              "port in [1, 65535]: 127.0.0.1:9100, [::1]:9100)";
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return what;
    std::string host = text.substr(0, colon);
    const std::string port_text = text.substr(colon + 1);
    unsigned port = 0;
    const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || r.ec != std::errc{} || r.ptr != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
        return what;
    addr = sockaddr_storage{};
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
        if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1) return what;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(static_cast<uint16_t>(port));
        len = sizeof(sockaddr_in6);
        return {};
    }
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1)
        return host.find(':') != std::string::npos ? what + ": an IPv6 address goes in brackets" : what;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
    return {};
}

namespace {

// A non-blocking listening socket on `text`, or -1 and the reason.
int listen_on(const std::string& text, std::string& err) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    err = parse_metrics_address(text, addr, len);
    if (!err.empty()) return -1;
    const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = "cannot open a socket for " + text + ": " + std::strerror(errno);
        return -1;
    }
    // A scrape's connection in TIME_WAIT from a run before must not keep the next run off the port.
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 || listen(fd, 16) != 0) {
        err = "cannot listen on " + text + ": " + std::strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

bool check_metrics(const std::string& text, std::string& err) {
    if (text.empty()) return true;
    const int fd = listen_on(text, err);
    if (fd < 0) {
        err = "metrics: " + err;
        return false;
    }
    close(fd);
    return true;
}

struct MetricsEndpoint::Impl {
    struct Source {
        bool client;
        unsigned lcore;
        const engine::Worker* worker;
    };
    int listen_fd = -1, wake_fd = -1;
    MetricsInfo info;
    std::vector<Source> sources;
    bool hold = false;
    std::mutex mu;  // between this thread and the main lcore's freeze() only; workers never take it
    std::optional<std::vector<MetricsLane>> frozen;
    std::thread thread;

    ~Impl() {
        if (thread.joinable()) {
            const uint64_t one = 1;
            (void)!write(wake_fd, &one, sizeof one);
            thread.join();
        }
        if (listen_fd >= 0) close(listen_fd);
        if (wake_fd >= 0) close(wake_fd);
    }

    std::vector<MetricsLane> read_lanes() const {
        std::vector<MetricsLane> out(sources.size());
        for (std::size_t i = 0; i < sources.size(); ++i)
            out[i] = MetricsLane{sources[i].client, sources[i].lcore, sources[i].worker->read()};
        return out;
    }

    // From now on the figures of this moment, and no worker is read again (the lanes may go).
    void freeze() {
        std::lock_guard g(mu);
        frozen = read_lanes();
    }

    std::string body() {
        std::lock_guard g(mu);  // held while reading workers: freeze() returns only once no read is under way
        return exposition(frozen ? *frozen : read_lanes(), info);
    }

    // Waits (for at most `ms`) until fd is ready for `events` or the endpoint is stopped. False: stopped or
    // timed out.
    bool wait(int fd, short events, int ms) const {
        pollfd p[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
        return poll(p, 2, ms) > 0 && p[1].revents == 0 && p[0].revents != 0;
    }

    // One request on an accepted connection, answered and closed: GET (or HEAD) /metrics -> 200, another
    // target -> 404, another method -> 405. Clients get 2 s to send the request head and to take the answer.
    void serve(int fd) {
        using clock = std::chrono::steady_clock;
        const auto deadline = clock::now() + std::chrono::seconds(2);
        auto left = [&] {
            return static_cast<int>(std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count()));
        };
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos &&
               req.size() < 16384) {
            if (!wait(fd, POLLIN, left())) return;
            const ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) return;
            req.append(buf, static_cast<std::size_t>(n));
        }
        // RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
        const std::size_t sp1 = req.find(' '), sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
        const std::string method = req.substr(0, sp1);
        const std::string target = sp2 == std::string::npos ? std::string() : req.substr(sp1 + 1, sp2 - sp1 - 1);
        const bool head = method == "HEAD";
        std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", payload, extra;
        if (method != "GET" && !head) {
            status = "405 Method Not Allowed";
            extra = "Allow: GET, HEAD\r\n";
        } else if (target != "/metrics" && !target.starts_with("/metrics?")) {
            status = "404 Not Found";
        }
        if (status.starts_with("200")) payload = body();
        else {
            type = "text/plain; charset=utf-8";
            payload = status + "\n";
        }
        std::string out = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                          std::to_string(payload.size()) + "\r\n" + extra + "Connection: close\r\n\r\n";
        if (!head) out += payload;
        std::size_t sent = 0;
        while (sent < out.size()) {
            const ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n > 0) sent += static_cast<std::size_t>(n);
            else if (n < 0 && errno != EAGAIN && errno != EINTR) return;
            else if (!wait(fd, POLLOUT, left())) return;
        }
    }

    void run() {
        // SIGINT and SIGTERM are the run's (its handler counts them): not this thread's to be woken by.
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
        for (;;) {
            pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
            if (poll(p, 2, -1) < 0 && errno != EINTR) return;
            if (p[1].revents != 0) return;
            if (p[0].revents == 0) continue;
            const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                // The client went away (try the next), or no descriptor is free: wait a little rather than spin.
                if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) (void)wait(-1, 0, 100);
                continue;
            }
            serve(fd);
            close(fd);
        }
    }
};

namespace {

// The endpoint kept past its run when the process holds (--hold): stopped when the process exits.
std::unique_ptr<MetricsEndpoint::Impl>& held() {
    static std::unique_ptr<MetricsEndpoint::Impl> h;
    return h;
}

// The CPUs no lcore runs on (all of them when the lcores take every one): a scrape should not share a
// worker's CPU when it need not, as DPDK's own control threads do not.
void keep_off_lcores(std::thread& t) {
    cpu_set_t lcores, set;
    CPU_ZERO(&lcores);
    CPU_ZERO(&set);
    unsigned id = 0;
    RTE_LCORE_FOREACH(id) {
        const rte_cpuset_t c = rte_lcore_cpuset(id);
        CPU_OR(&lcores, &lcores, &c);
    }
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < n && cpu < CPU_SETSIZE; ++cpu)
        if (!CPU_ISSET(cpu, &lcores)) CPU_SET(cpu, &set);
    if (CPU_COUNT(&set) == 0)
        for (long cpu = 0; cpu < n && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(t.native_handle(), sizeof set, &set);  // a hint: the thread runs either way
    (void)pthread_setname_np(t.native_handle(), "synwave-metrics");
}

}  // namespace

MetricsEndpoint::MetricsEndpoint() = default;

MetricsEndpoint::~MetricsEndpoint() {
    if (!impl_) return;
    if (impl_->hold) {
        impl_->freeze();
        held() = std::move(impl_);
    }
}

std::string MetricsEndpoint::start(const Options& o, const std::vector<Lane>& lanes) {
    if (o.metrics.empty()) return {};
    auto impl = std::make_unique<Impl>();
    std::string err;
    impl->listen_fd = listen_on(o.metrics, err);
    if (impl->listen_fd < 0) return "--metrics: " + err;
    impl->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (impl->wake_fd < 0) return std::string("--metrics: eventfd: ") + std::strerror(errno);
    impl->hold = o.hold;
    impl->info = MetricsInfo{SYNWAVE_VERSION, SYNWAVE_COMMIT,
                             o.mode == Mode::Storm ? "storm" : o.mode == Mode::Server ? "server" : "client",
                             std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()};
    for (const Lane& l : lanes) impl->sources.push_back({l.client != nullptr, l.lcore, l.worker.get()});
    impl->thread = std::thread([p = impl.get()] { p->run(); });
    keep_off_lcores(impl->thread);
    impl_ = std::move(impl);
    return {};
}

}  // namespace synwave::app
