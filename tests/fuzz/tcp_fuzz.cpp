// libFuzzer target for lib/tcp's state machine: a client Stack and a server Stack talk over two queues that the
// input drives (tcp_fuzz.hpp: the input language). Segments are delivered, lost, duplicated, reordered, mutated
// by small deltas or forged relative to the receiving record's RCV.NXT and SND.UNA, so that most inputs get
// past the sequence checks (RFC 9293 §3.10.7.4) and into the states behind them; user calls and clock steps
// come from the input too. After every operation both stacks pass StackAudit (tcp_audit.hpp). The data check:
// every byte a stream carries is a function of its 4-tuple, direction and stream offset (a periodic pattern),
// so each delivered byte is compared with what the sender sent at that offset, whatever the path it took
// (retransmission, overlap, trimming); on a stream no forged or mutated segment touched, the receiver never
// holds more than the sender sent, and at the peer's FIN it holds exactly that. At the end every connection
// is closed, the network is cut, and the clock runs past every timeout (RTO and SYN retries with backoff,
// 2MSL, FIN-WAIT-2, keepalive): both stacks must then be empty, timers included.
#include "tcp_audit.hpp"
#include "tcp_fuzz.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::fuzz;
using namespace synwave::wire::tcpflag;
using wire::TcpSegment;

namespace {

constexpr Ipv4 kClientIp{0x0A00'0002};
constexpr Ipv4 kServerIp{0x0A00'0001};
constexpr Ipv4 kPhantomIp{0x0A00'0003};
constexpr uint64_t kMs = 1'000'000;  // cycles per ms at the 1 GHz rate the stacks are given
constexpr uint32_t kPeriod = 65521;  // the data pattern's period (prime: no alignment hides a shift)
constexpr uint32_t kMaxRun = 70000;  // the longest run of bytes read from one pointer into the pattern

Totals g_totals;
// TCP_FUZZ_TRACE=1 in the environment: every operation, segment and event on stderr (to read a finding).
const bool g_trace = std::getenv("TCP_FUZZ_TRACE") != nullptr;
#define TRACE(...)                                       \
    do {                                                 \
        if (g_trace) std::fprintf(stderr, __VA_ARGS__); \
    } while (0)

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "tcp_fuzz: broken invariant: %s\n", what);
    std::abort();
}

// pattern()[i] == pattern()[i % kPeriod] for every i, so any run of up to kMaxRun bytes starting anywhere in
// the first period is a contiguous slice of the infinite stream.
const uint8_t* pattern() {
    static const std::vector<uint8_t> p = [] {
        std::vector<uint8_t> v(kPeriod + kMaxRun);
        for (uint32_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(((i % kPeriod) * 2654435761u) >> 24);
        return v;
    }();
    return p.data();
}
uint32_t phase(int slot, int from) { return (static_cast<uint32_t>(slot) * 7919u + static_cast<uint32_t>(from) * 30011u) % kPeriod; }
// The bytes of stream (slot, from) at offset `off` (signed: before the first byte wraps into the period).
const uint8_t* stream_ptr(int slot, int from, int64_t off) {
    int64_t pos = (static_cast<int64_t>(phase(slot, from)) + off) % kPeriod;
    if (pos < 0) pos += kPeriod;
    return pattern() + pos;
}
const uint8_t* shift_ptr(const uint8_t* p, int64_t by) {
    int64_t pos = (static_cast<int64_t>(p - pattern()) + by) % kPeriod;
    if (pos < 0) pos += kPeriod;
    return pattern() + pos;
}

struct Tuple {
    Ipv4 cip;
    uint16_t cport, sport;
};
Tuple slot_tuple(uint32_t s) {
    if (s < 4) return {kClientIp, static_cast<uint16_t>(40000 + s), 80};
    if (s == 4) return {kClientIp, 40004, 81};
    return {kPhantomIp, static_cast<uint16_t>(50000 + s), 80};
}
int slot_of(Ipv4 cip, uint16_t cport, uint16_t sport) {
    for (uint32_t s = 0; s < kSlots; ++s) {
        const Tuple t = slot_tuple(s);
        if (t.cip == cip && t.cport == cport && t.sport == sport) return static_cast<int>(s);
    }
    return -1;
}
// The slot of a segment that travels from side `from` (0 client, 1 server).
int slot_of_seg(const OutSegment& o, int from) {
    return from == 0 ? slot_of(o.src, o.seg.src_port, o.seg.dst_port) : slot_of(o.dst, o.seg.dst_port, o.seg.src_port);
}

StackConfig make_config(uint32_t which, int side) {
    StackConfig c;
    c.max_conns = 8;
    c.max_timewait = 8;
    c.half_open_limit = 8;
    c.out_capacity = 256;
    c.reasm_bytes = 64u << 10;  // 32 blocks of out-of-order data
    c.loss_records = 8;
    const bool client = side == 0;
    if (client && (which & 1)) {  // the client's own tuples by index (flow/tuple_index.hpp)
        c.direct.local_ip_lo = c.direct.local_ip_hi = kClientIp.v;
        c.direct.local_port_lo = 40000;
        c.direct.local_port_hi = 40007;
        c.direct.remote_ip = kServerIp.v;
        c.direct.remote_port = 80;
    }
    switch (which) {
    case 0: break;  // plain: every option on, Linux's timeouts
    case 1: c.timestamps = c.window_scale = c.sack = false; break;
    case 2:  // options differ between the sides
        c.timestamps = client;
        c.window_scale = !client;
        c.sack = client;
        if (client) c.mss = 536;
        break;
    case 3:  // TIME_WAIT-heavy: small pools, short MSL, RFC 1337 on the server
        c.max_conns = 4;
        c.max_timewait = 2;
        c.half_open_limit = 1;
        c.msl_ms = 500;
        c.rfc1337 = !client;
        c.loss_records = 1;  // fewer side records than connections
        c.timestamps = client;  // no timestamps negotiated: reuse by sequence number only (RFC 6191)
        break;
    case 4:  // tiny: every "full" path
        c.max_conns = 1;
        c.max_timewait = 1;
        c.half_open_limit = 1;
        c.cookies = CookieMode::Off;
        c.out_capacity = 3;
        c.reasm_bytes = client ? 4096 : 0;  // two blocks; none at all
        c.loss_records = 1;
        break;
    case 5: c.cookies = CookieMode::Always; break;
    case 6:  // short timers: keepalive, FIN-WAIT-2, few retries
        c.keepalive = true;
        c.ka_idle_ms = 2000;
        c.ka_intvl_ms = 300;
        c.ka_probes = 2;
        c.fin_wait2_timeout_ms = 1500;
        c.retries2 = 3;
        c.syn_retries = 2;
        c.synack_retries = 1;
        c.rto.initial_us = 300'000;
        c.rto.min_us = 50'000;
        c.rto.max_us = 2'000'000;
        c.delack_ms = 20;
        c.msl_ms = 1000;
        break;
    case 7:  // small windows and segments: zero windows, trimming, persist, sender SWS avoidance
        c.rcv_wnd = client ? 3000 : 1200;
        c.mss = client ? 200 : 100;
        c.init_cwnd_segs = 2;
        c.window_scale = client;
        c.challenge_ack_per_sec = 3;
        break;
    default: break;
    }
    return c;
}

class Reader {
public:
    Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
    uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
    [[nodiscard]] bool done() const { return i_ >= n_; }

private:
    const uint8_t* d_;
    size_t n_, i_ = 0;
};

struct Stream {  // one direction of one slot, as its sender's stack started it (its SYN or SYN-ACK)
    bool have = false;
    Seq iss;
    uint64_t sent = 0;
};
struct Rec {  // what a receiving application has had on one connection
    uint64_t rx = 0;
};

class World;

class Side : public App {
public:
    void on_event(Stack& s, const Event& ev) override;
    World* w = nullptr;
    int id = 0;  // 0 client, 1 server
    std::unique_ptr<Stack> st;
    std::vector<Rec> rec;
    StackAudit audit;
};

class World {
public:
    World(uint32_t which, uint8_t policy) : policy_(policy) {
        for (int i = 0; i < 2; ++i) {
            Side& s = side[i];
            s.w = this;
            s.id = i;
            const StackConfig cfg = make_config(which, i);
            const Secrets sec{SipKey{11u + i, 2}, SipKey{3, 4u + i}, SipKey{5, 6}};
            s.st = std::make_unique<Stack>(cfg, TscRate{1'000'000'000}, now, sec, &s);
            s.rec.assign(cfg.max_conns, Rec{});
        }
        side[1].st->listen(80);
        for (uint32_t k = 5; k < kSlots; ++k) tainted[k] = true;  // the harness is the phantom's sender
    }

    void run(Reader& in);
    void end();
    void add_totals() const {
        g_totals.ctr += side[0].st->counters();
        g_totals.ctr += side[1].st->counters();
    }

    // --- the applications' reactions (Side::on_event) ---
    void on_data(Side& s, const Event& ev) {
        const Tcb& t = s.st->tcb(ev.conn);
        const int slot = s.id == 0 ? slot_of(Ipv4{t.key.local_ip}, t.key.local_port, t.key.remote_port)
                                   : slot_of(Ipv4{t.key.remote_ip}, t.key.remote_port, t.key.local_port);
        Rec& r = s.rec[ev.conn];
        const int from = 1 - s.id;
        if (slot >= 0 && !stale[slot]) {
            ++g_totals.data_checked;
            if (std::memcmp(ev.data, stream_ptr(slot, from, static_cast<int64_t>(r.rx)), ev.len) != 0)
                fail("delivered bytes differ from what the peer sent at that offset");
            if (!tainted[slot] && stream[slot][from].have && r.rx + ev.len > stream[slot][from].sent)
                fail("receiver delivered more than the sender sent");
        }
        r.rx += ev.len;
        if (s.id == 1 && (policy_ & kPolicyAbortOnData) && (ev.len & 1)) {
            s.st->abort(ev.conn);
            return;
        }
        if (s.id == 1 && (policy_ & kPolicyServerReply) && t.tx_len == 0) send_on(s, ev.conn, 100 + ev.len);
    }
    // A new incarnation of the side's direction: nothing sent on it yet. If its ISS is the previous one's (no
    // time passed for the RFC 6528 clock), the previous one's segments still in flight are in its sequence
    // space too, so the counts are no longer checked on the slot (the bytes still are: same offsets).
    void on_open(Side& s, const Event& ev) {
        s.rec[ev.conn] = Rec{};
        const Tcb& t = s.st->tcb(ev.conn);
        const int slot = s.id == 0 ? slot_of(Ipv4{t.key.local_ip}, t.key.local_port, t.key.remote_port)
                                   : slot_of(Ipv4{t.key.remote_ip}, t.key.remote_port, t.key.local_port);
        if (slot < 0) return;
        Stream& st = stream[slot][s.id];
        if (st.sent != 0) tainted[slot] = true;
        st.sent = 0;
    }
    void on_peer_fin(Side& s, const Event& ev) {
        const Tcb& t = s.st->tcb(ev.conn);
        const int slot = s.id == 0 ? slot_of(Ipv4{t.key.local_ip}, t.key.local_port, t.key.remote_port)
                                   : slot_of(Ipv4{t.key.remote_ip}, t.key.remote_port, t.key.local_port);
        const int from = 1 - s.id;
        if (slot >= 0 && !stale[slot] && !tainted[slot] && stream[slot][from].have) {
            if (s.rec[ev.conn].rx != stream[slot][from].sent) fail("at the peer's FIN, received != sent");
            ++g_totals.streams_complete;
        }
        const uint8_t want = s.id == 0 ? kPolicyClientCloseOnFin : kPolicyServerCloseOnFin;
        if ((policy_ & want) || ending_) s.st->close(ev.conn);
    }
    void on_end(Side& s, const Event& ev) {
        if (s.id != 0 || !(policy_ & kPolicyReconnect) || ending_ || reconnects_ >= 4) return;
        ++reconnects_;
        const Tcb& t = s.st->tcb(ev.conn);  // freed, but its 4-tuple is still there
        uint32_t c = 0;
        (void)s.st->connect(Ipv4{t.key.local_ip}, t.key.local_port, Ipv4{t.key.remote_ip}, t.key.remote_port, 0,
                            now, &c);
    }

    Side side[2];

private:
    // send() on a Tcb from the stream's pattern at the Tcb's next offset.
    void send_on(Side& s, uint32_t idx, uint32_t len) {
        const Tcb& t = s.st->tcb(idx);
        const int slot = s.id == 0 ? slot_of(Ipv4{t.key.local_ip}, t.key.local_port, t.key.remote_port)
                                   : slot_of(Ipv4{t.key.remote_ip}, t.key.remote_port, t.key.local_port);
        if (slot < 0) return;
        const auto off = static_cast<uint32_t>(t.snd_max - (t.iss + 1));
        if (!s.st->send(idx, stream_ptr(slot, s.id, off), len)) return;
        Stream& st = stream[slot][s.id];
        if (!st.have || st.iss != t.iss) {
            stale[slot] = true;
            return;
        }
        st.sent += len;
    }

    // The segments a stack emitted go to its queue; a SYN or SYN-ACK with a new ISS starts a new incarnation
    // of its direction. Segments of an older one still queued could be taken as data of the new one (an old
    // duplicate, which TCP prevents only with TIME_WAIT and PAWS): the slot's data is no longer checked.
    void observe(const OutSegment& o, int from) {
        if (!(o.seg.flags & SYN)) return;
        const int slot = slot_of_seg(o, from);
        if (slot < 0) return;
        Stream& st = stream[slot][from];
        if (st.have && st.iss == o.seg.seq) return;
        for (int d = 0; d < 2; ++d)
            for (const OutSegment& q : queue[d])
                if (slot_of_seg(q, d) == slot) stale[slot] = true;
        st = Stream{true, o.seg.seq, 0};
    }
    void drain(int i) {
        auto& out = side[i].st->out();
        for (const OutSegment& o : out) {
            TRACE("  %s -> flags %02x seq %u ack %u len %u\n", i ? "S" : "C", o.seg.flags, o.seg.seq.raw(),
                  o.seg.ack.raw(), o.seg.payload_len);
            observe(o, i);
            queue[i].push_back(o);
        }
        out.clear();
    }
    void drain_both() {
        drain(0);
        drain(1);
    }
    void audit() {
        side[0].audit.check(*side[0].st, "client");
        side[1].audit.check(*side[1].st, "server");
    }
    void input(int to, const OutSegment& o) {
        TRACE("  %s <- %u:%u flags %02x seq %u ack %u len %u wnd %u ts %d/%u/%u\n", to ? "S" : "C",
              o.src.v & 0xFF, o.seg.src_port, o.seg.flags, o.seg.seq.raw(), o.seg.ack.raw(), o.seg.payload_len,
              o.seg.window, o.seg.opt.has_ts, o.seg.opt.tsval, o.seg.opt.tsecr);
        side[to].st->input(InSegment{o.src, o.dst, o.seg}, now);
        drain_both();
    }
    void deliver(int from, uint32_t at, bool keep) {
        auto& q = queue[from];
        if (q.empty()) return;
        const size_t i = at % q.size();
        const OutSegment o = q[i];
        if (!keep) q.erase(q.begin() + static_cast<long>(i));
        input(1 - from, o);
    }
    void clock(uint64_t ms) {
        now += Duration{ms * kMs};
        TRACE("  clock +%llu -> %llu ms\n", static_cast<unsigned long long>(ms),
              static_cast<unsigned long long>(now.cycles / kMs));
        side[0].st->poll(now);
        side[1].st->poll(now);
        drain_both();
    }
    uint32_t pump(uint32_t max) {
        uint32_t n = 0;
        while (n < max && (!queue[0].empty() || !queue[1].empty())) {
            for (int d = 0; d < 2; ++d) {
                if (queue[d].empty()) continue;
                deliver(d, 0, false);
                ++n;
            }
            audit();
        }
        return n;
    }
    // The Tcb handle of `slot` on `side`, or kNoConn.
    uint32_t conn_of(int s, uint32_t slot) const {
        const Tuple t = slot_tuple(slot);
        const uint32_t v = s == 0 ? side[0].st->find(t.cip, t.cport, kServerIp, t.sport)
                                  : side[1].st->find(kServerIp, t.sport, t.cip, t.cport);
        return (v == kNoConn || (v & (kSynBit | kTwBit))) ? kNoConn : v;
    }
    void mutate(Reader& in);
    void forge(Reader& in);
    void answer(Reader& in);
    void op_connect(uint8_t a);
    void close_all();

    Instant now{1'000'000'000'000ull};
    std::deque<OutSegment> queue[2];  // [from]: 0 client -> server, 1 server -> client
    Stream stream[kSlots][2];         // [slot][from]
    bool tainted[kSlots] = {};        // a forged or mutated segment touched the slot: counts are not checked
    bool stale[kSlots] = {};          // not even the bytes: the two ends may disagree on the stream's start
    uint8_t policy_;
    int reconnects_ = 0;
    bool ending_ = false;
};

void Side::on_event(Stack&, const Event& ev) {
    TRACE("    %s event %d conn %u len %u reason %s\n", id ? "S" : "C", static_cast<int>(ev.kind), ev.conn, ev.len,
          abort_reason_name(ev.reason));
    switch (ev.kind) {
    case EventKind::Connected:
    case EventKind::Accepted: w->on_open(*this, ev); break;
    case EventKind::SendDone: break;
    case EventKind::Data: w->on_data(*this, ev); break;
    case EventKind::PeerFin: w->on_peer_fin(*this, ev); break;
    case EventKind::Closed:
    case EventKind::Aborted: w->on_end(*this, ev); break;
    }
}

void World::mutate(Reader& in) {
    const uint8_t a = in.byte(), field = in.byte(), db = in.byte();
    const int from = a & 1;
    auto& q = queue[from];
    if (q.empty()) return;
    TcpSegment& s = q[(a >> 1) % q.size()].seg;
    const int slot = slot_of_seg(q[(a >> 1) % q.size()], from);
    const auto d = static_cast<int8_t>(db);
    bool syn = (s.flags & SYN) != 0;
    switch (field % 8) {
    case 0:
        s.seq += static_cast<uint32_t>(static_cast<int32_t>(d));
        if (s.payload_len) s.payload = shift_ptr(s.payload, d);  // same bytes for the same sequence numbers
        break;
    case 1: s.ack += static_cast<uint32_t>(static_cast<int32_t>(d)); break;
    case 2: {
        static constexpr uint8_t kBits[] = {SYN, ACK, RST, FIN, PSH};
        s.flags ^= kBits[db % 5];
        break;
    }
    case 3: s.window = static_cast<uint16_t>(db * 257u); break;
    case 4:
        if (db == 0x80) {
            s.opt.has_ts = false;
        } else {
            s.opt.tsval += static_cast<uint32_t>(static_cast<int32_t>(d));
            s.opt.has_ts = true;
        }
        break;
    case 5: s.payload_len = std::min<uint32_t>(s.payload_len, db); break;
    case 6:
        s.opt.has_mss = db != 0;
        s.opt.mss = static_cast<uint16_t>(db * 8u);
        s.opt.has_wscale = (db & 0x10) != 0;
        s.opt.wscale = db & 0x0F;
        s.opt.sack_permitted = (db & 0x20) != 0;
        break;
    case 7: {  // SACK blocks above the ACK (RFC 2018 §4), some overlapping, some beyond what was sent
        s.opt.num_sack = static_cast<uint8_t>(1 + db % 4);
        for (uint8_t k = 0; k < s.opt.num_sack; ++k) {
            const Seq left = s.ack + static_cast<uint32_t>(static_cast<int32_t>(d) * 8 + 300 * k);
            s.opt.sack[k] = wire::SackBlock{left, left + (100u + 50u * (db & 7u))};
        }
        break;
    }
    default: break;
    }
    syn = syn || (s.flags & SYN);
    if (slot >= 0) {
        tainted[slot] = true;
        if (syn) stale[slot] = true;
    }
}

// A segment to side `to` on `slot`'s 4-tuple, placed relative to what the receiving record expects.
void World::forge(Reader& in) {
    const uint8_t a = in.byte(), kind = in.byte(), sd = in.byte(), ad = in.byte(), ls = in.byte();
    const int to = (a >> 3) & 1, from = 1 - to;
    const uint32_t slot = a % kSlots;
    const Tuple tu = slot_tuple(slot);
    const Ipv4 local = to == 0 ? tu.cip : kServerIp, remote = to == 0 ? kServerIp : tu.cip;
    const uint16_t lport = to == 0 ? tu.cport : tu.sport, rport = to == 0 ? tu.sport : tu.cport;
    const Stack& rx = *side[to].st;
    const Stream& sender = stream[slot][from];
    Seq rbase = sender.have ? sender.iss + 1 : Seq(1000), una = stream[slot][to].iss + 1, smax = una;
    uint32_t ts_recent = static_cast<uint32_t>(now.cycles / kMs);
    bool ts = false;
    const uint32_t v = rx.find(local, lport, remote, rport);
    if (v != kNoConn && (v & kTwBit)) {
        const TwRecord& w = rx.tw(v & ~kTwBit);
        rbase = w.rcv_nxt;
        una = smax = w.snd_nxt;
        ts = w.ts_ok;
        ts_recent = w.ts_recent;
    } else if (v != kNoConn && (v & kSynBit)) {
        const SynRecord& r = rx.syn(v & kIndexMask);
        rbase = r.irs + 1;
        una = smax = r.iss + 1;
        ts = (r.opts.flags & tcbflag::kTsOk) != 0;
        ts_recent = r.opts.ts_recent;
    } else if (v != kNoConn) {
        const Tcb& t = rx.tcb(v);
        if (t.state != State::SynSent) rbase = t.rcv_nxt;
        una = t.snd_una;
        smax = t.snd_max;
        ts = (t.flags & tcbflag::kTsOk) != 0;
        ts_recent = t.ts_recent;
    }
    const uint8_t flags = kForgeFlags[kind % std::size(kForgeFlags)];
    OutSegment o;
    o.src = remote;
    o.dst = local;
    TcpSegment& s = o.seg;
    s.src_port = rport;
    s.dst_port = lport;
    s.flags = flags;
    s.seq = rbase + static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(sd)) << ((ls & 7) * 2));
    // The kind byte's high nibble scales the ACK's offset: up to beyond SND.UNA - MAX.SND.WND (RFC 5961 §5).
    s.ack = ((ad & 1) ? smax : una) +
            static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(ad) >> 1) * (1 << (kind >> 4)));
    s.window = kind % std::size(kForgeFlags) == 9 ? 0 : 65535;
    if (ts || (flags & SYN)) {
        s.opt.has_ts = true;
        s.opt.tsval = ts_recent + (static_cast<int8_t>(sd) < 0 ? 0xFFFF'FFFFu : 1u);  // older: PAWS
        s.opt.tsecr = rx.ts_now();
    }
    if (flags & SYN) {
        s.opt.has_mss = true;
        s.opt.mss = 1460;
        s.opt.sack_permitted = (ls & 0x40) != 0;
        s.opt.has_wscale = (ls & 0x80) != 0;
        s.opt.wscale = 7;
        if (!(flags & ACK)) s.seq = (sender.have ? sender.iss : Seq(1000)) + static_cast<uint32_t>(static_cast<int8_t>(sd));
    }
    if (flags & PSH) {
        s.payload_len = (ls >> 3) * 40u;
        const Seq first = s.seq + ((flags & SYN) ? 1u : 0u);
        const Seq base = sender.have ? sender.iss + 1 : rbase;
        s.payload = stream_ptr(static_cast<int>(slot), from, static_cast<int64_t>(static_cast<int32_t>(first - base)));
    }
    tainted[slot] = true;
    if ((flags & SYN) && slot < 5) stale[slot] = true;
    // A phantom's SYN with a new ISN re-bases the phantom's stream while the server may still hold a record
    // of the old one (its IRS): bytes the server then takes at its own offsets are not the new stream's.
    if ((flags & SYN) && !(flags & ACK) && slot >= 5 && sender.have && sender.iss != s.seq) stale[slot] = true;
    observe(o, from);  // a phantom's SYN starts the phantom's stream
    input(to, o);
}

// The phantom client completes a handshake: an ACK (with data when asked) for a queued SYN-ACK of a phantom
// slot, from whatever record or cookie the server answered with.
void World::answer(Reader& in) {
    const uint8_t at = in.byte(), len = in.byte();
    auto& q = queue[1];
    for (size_t k = 0; k < q.size(); ++k) {
        const size_t i = (at + k) % q.size();
        const OutSegment sa = q[i];
        const int slot = slot_of_seg(sa, 1);
        if (slot < 5 || (sa.seg.flags & (SYN | ACK)) != (SYN | ACK)) continue;
        q.erase(q.begin() + static_cast<long>(i));
        OutSegment o;
        o.src = sa.dst;
        o.dst = sa.src;
        TcpSegment& s = o.seg;
        s.src_port = sa.seg.dst_port;
        s.dst_port = sa.seg.src_port;
        s.flags = len ? (ACK | PSH) : ACK;
        s.seq = sa.seg.ack;
        s.ack = sa.seg.seq + 1;
        s.window = 65535;
        if (sa.seg.opt.has_ts) {
            s.opt.has_ts = true;
            s.opt.tsval = static_cast<uint32_t>(now.cycles / kMs) + 7;
            s.opt.tsecr = sa.seg.opt.tsval;
        }
        s.payload_len = len * 8u;
        s.payload = stream_ptr(slot, 0, static_cast<int64_t>(static_cast<int32_t>(s.seq - (stream[slot][0].iss + 1))));
        input(1, o);
        return;
    }
}

void World::op_connect(uint8_t a) {
    const int s = (a >> 3) & 1;
    const Tuple t = slot_tuple(a % 5);
    uint32_t c = 0;
    if (s == 0) {
        (void)side[0].st->connect(t.cip, t.cport, kServerIp, t.sport, 0, now, &c);
    } else {  // the server opens towards the client's port: a simultaneous open if the client does too
        (void)side[1].st->connect(kServerIp, t.sport, t.cip, t.cport, 0, now, &c);
    }
    drain_both();
}

void World::run(Reader& in) {
    for (uint32_t ops = 0; ops < 1000 && !in.done(); ++ops) {
        const uint8_t op = in.byte() % kOpCount;
        TRACE("op %u (t=%llu ms)\n", op, static_cast<unsigned long long>(now.cycles / kMs));
        switch (static_cast<Op>(op)) {
        case kDeliver: {
            const uint8_t a = in.byte();
            deliver(a & 1, a >> 1, false);
            break;
        }
        case kPump: {
            const uint8_t r = in.byte() % 8;
            for (uint8_t k = 0; k <= r; ++k) {
                pump(512);
                clock(1);
            }
            break;
        }
        case kDrop:
        case kSwap:
        case kDelay: {
            const uint8_t a = in.byte();
            auto& q = queue[a & 1];
            if (q.empty()) break;
            const size_t i = (a >> 1) % q.size();
            if (op == kDrop) {
                q.erase(q.begin() + static_cast<long>(i));
            } else if (op == kSwap) {
                if (i + 1 < q.size()) std::swap(q[i], q[i + 1]);
            } else {
                const OutSegment o = q[i];
                q.erase(q.begin() + static_cast<long>(i));
                q.push_back(o);
            }
            break;
        }
        case kDup: {
            const uint8_t a = in.byte();
            deliver(a & 1, a >> 1, true);
            break;
        }
        case kMutate: mutate(in); break;
        case kForge: forge(in); break;
        case kAnswer: answer(in); break;
        case kConnect: op_connect(in.byte()); break;
        case kSend: {
            const uint8_t a = in.byte(), l = in.byte();
            const int s = (a >> 3) & 1;
            const uint32_t c = conn_of(s, a % kSlots);
            if (c != kNoConn) send_on(side[s], c, l ? l * 37u : 1u);
            drain_both();
            break;
        }
        case kClose:
        case kAbort: {
            const uint8_t a = in.byte();
            const int s = (a >> 3) & 1;
            const uint32_t c = conn_of(s, a % kSlots);
            if (c == kNoConn) break;
            if (op == kClose) side[s].st->close(c);
            else side[s].st->abort(c);
            drain_both();
            break;
        }
        case kClock: clock(in.byte()); break;
        case kClockBig: clock(uint64_t{in.byte()} * 250); break;
        case kOpCount: break;
        }
        audit();
    }
}

void World::close_all() {
    for (int i = 0; i < 2; ++i) {
        Stack& s = *side[i].st;
        for (uint32_t c = 0; c < s.config().max_conns; ++c)
            if (s.tcb(c).state != State::Closed) {
                const Tcb& t = s.tcb(c);
                TRACE("  close %s Tcb %u in %s: SND.UNA %u NXT %u MAX %u RCV.NXT %u buffer %u from %u\n", i ? "S" : "C",
                      c, state_name(t.state), t.snd_una.raw(), t.snd_nxt.raw(), t.snd_max.raw(), t.rcv_nxt.raw(),
                      t.tx_len, t.tx_seq.raw());
                s.close(c);
            }
    }
    drain_both();
}

// Everything ends: (optionally) the two stacks exchange until quiet, every connection is closed, then the
// network is cut and the clock runs in growing steps past every timeout. Both stacks must end up empty.
void World::end() {
    ending_ = true;
    TRACE("end\n");
    if (policy_ & kPolicyQuiesce) {
        // Bounded: two ends that disagree about the sequence space answer each other's bare ACKs for ever (an
        // ACK loop; lib/tcp does not limit those ACKs per connection yet).
        uint32_t delivered = 0;
        for (int round = 0, quiet = 0; round < 60 && quiet < 2 && delivered < 20000; ++round) {
            delivered += pump(4096);
            clock(200);
            quiet = (queue[0].empty() && queue[1].empty()) ? quiet + 1 : 0;
        }
        close_all();
        for (int round = 0; round < 20 && !(queue[0].empty() && queue[1].empty()); ++round) {
            pump(4096);
            clock(200);
        }
    }
    close_all();
    uint64_t step = 10;
    for (int round = 0; round < 400; ++round) {
        queue[0].clear();
        queue[1].clear();
        clock(step);
        close_all();  // anything the reactions opened meanwhile
        audit();
        const Stack& a = *side[0].st;
        const Stack& b = *side[1].st;
        if (a.table_size() + b.table_size() == 0 && a.timers_pending() + b.timers_pending() == 0) break;
        step = std::min<uint64_t>(step * 2, 64'000);
    }
    StackAudit::check_empty(*side[0].st, "client");
    StackAudit::check_empty(*side[1].st, "server");
    ++g_totals.end_drains;
}

}  // namespace

namespace synwave::tcp::fuzz {
const Totals& totals() { return g_totals; }
}  // namespace synwave::tcp::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader in(data, size);
    const uint8_t which = in.byte();
    const uint8_t policy = in.byte();
    World w(which % kConfigs, policy);
    w.run(in);
    w.end();
    w.add_totals();
    ++g_totals.inputs;
    return 0;
}
