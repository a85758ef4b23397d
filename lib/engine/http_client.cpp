// The client's HTTP/1.1 side (RFC 9112): requests from prebuilt templates, responses parsed by their framing
// (not by a byte count), counted by status class and checked against --expect-status, and connections kept
// alive for --requests exchanges.
#include <algorithm>

#include "engine/client.hpp"

namespace synwave::engine {

// Every request text exists before the first connection: per template, per family (the Host field names the
// destination) and with or without "Connection: close".
void Client::build_requests() {
    std::vector<RequestDef> defs = cfg_.requests;
    if (defs.empty()) defs.push_back(RequestDef{});
    if (defs.size() > 256) defs.resize(256);  // Slot::tpl is a byte
    for (const RequestDef& d : defs) {
        for (const bool v6 : {false, true}) {
            for (const bool closes : {false, true}) {
                http::RequestSpec spec = d.spec;
                // The first destination's (one text per family even with several destinations).
                const uint16_t port = cfg_.dports.empty() ? 80 : cfg_.dports[0];
                if (spec.host.empty())
                    spec.host = v6 ? host_field((cfg_.dsts6.empty() ? Ipv6{} : cfg_.dsts6[0]).str(), true, port)
                                   : host_field((cfg_.dsts.empty() ? Ipv4{} : cfg_.dsts[0]).str(), false, port);
                spec.close = closes;
                texts_.push_back(http::build_request(spec));
            }
        }
        heads_.push_back(d.spec.method == "HEAD");
        wrr_.push_back(0);
        wrr_total_ += std::max<uint32_t>(d.weight, 1);
    }
    cfg_.requests = std::move(defs);
}

void Client::set_slots(uint32_t n) {
    slots_.assign(n, Slot{});
    think_.assign(cfg_.think_us ? std::min(n, cfg_.concurrency) + size_t{1} : 0, Thinking{});
    think_head_ = think_n_ = 0;
}

// Smooth weighted round-robin (nginx's upstream choice): each template gains its weight, the richest is taken
// and pays the total, so weights 5:1:1 give a a b a c a a, never five in a row, and equal weights rotate.
uint8_t Client::pick_template() {
    if (wrr_.size() == 1) return 0;
    size_t best = 0;
    for (size_t i = 0; i < wrr_.size(); ++i) {
        wrr_[i] += std::max<uint32_t>(cfg_.requests[i].weight, 1);
        if (wrr_[i] > wrr_[best]) best = i;
    }
    wrr_[best] -= wrr_total_;
    return static_cast<uint8_t>(best);
}

void Client::send_request(tcp::Stack& st, uint32_t conn, Slot& s) {
    // The last request says "Connection: close" (RFC 9112 §9.6: the client will not send another), whoever
    // closes first.
    const bool closes = cfg_.requests_per_conn != 0 && s.sent + 1 >= cfg_.requests_per_conn;
    const std::string& t = texts_[size_t{s.tpl} * 4 + (s.v6 ? 2 : 0) + (closes ? 1 : 0)];
    if (!st.send(conn, reinterpret_cast<const uint8_t*>(t.data()), static_cast<uint32_t>(t.size()))) {
        // The previous request is not wholly acknowledged yet: a server may answer before it has read all of a
        // large body (nginx's `return` does). This one goes on that request's SendDone.
        s.pending = 1;
        return;
    }
    s.pending = 0;
    ++c.requests_sent;
    ++s.sent;
    s.requested = std::max<uint64_t>(st.now().cycles, 1);
    s.got = 0;
    s.rp.start(heads_[s.tpl] != 0);
}

void Client::count_failed(Slot* s, Fail f) {
    ++c.conn_failed;
    if (s) c.conn_failed_v6 += s->v6;
    if (f == Fail::BadResponse) ++c.conn_failed_bad_response;
    if (f == Fail::Status) ++c.conn_failed_status;
}

void Client::fail_bad(tcp::Stack& st, uint32_t conn, Slot& s) {
    ++c.bad_responses;
    st.abort(conn);
    count_failed(&s, Fail::BadResponse);
    ++s.gen;
    --open_;
}

void Client::on_data(tcp::Stack& st, uint32_t conn, Slot& s, const uint8_t* p, uint32_t n) {
    while (n != 0) {
        if (s.requested == 0) {  // bytes no request asked for
            fail_bad(st, conn, s);
            return;
        }
        if (!s.rp.started()) first_byte_ns.record(rate_.to_ns(st.now() - Instant{s.requested}));
        const http::Result r = s.rp.feed(p, n);
        s.got += r.used;
        p += r.used;
        n -= r.used;
        if (r.p == http::Progress::More) return;
        if (r.p == http::Progress::Error) {
            fail_bad(st, conn, s);
            return;
        }
        const uint32_t gen = s.gen;
        on_response(st, conn, s, false);
        if (s.gen != gen) return;  // the response ended the connection
    }
}

// A whole response: counted, then the connection goes on (the next request, a think time, or its end). After
// the peer's FIN (`peer_fin`) it is only counted.
void Client::on_response(tcp::Stack& st, uint32_t conn, Slot& s, bool peer_fin) {
    const uint16_t status = s.rp.status();
    c.http_1xx += s.rp.interim();  // RFC 9110 §15.2: interim responses the parser read past
    count_status(c, status);
    ++c.responses_done;
    response_ns.record(rate_.to_ns(st.now() - Instant{s.requested}));
    s.requested = 0;
    if (cfg_.response_bytes != 0 && s.got != cfg_.response_bytes) {
        fail_bad(st, conn, s);
        return;
    }
    if (!cfg_.expect.has(status)) {
        ++c.status_unexpected;
        s.fail = Fail::Status;
    }
    if (peer_fin) return;
    const bool more = (cfg_.requests_per_conn == 0 || s.sent < cfg_.requests_per_conn) &&
                      !ending_.load(std::memory_order_relaxed);
    // RFC 9112 §9.3: only a response that keeps the connection allows another request on it.
    if (more && s.rp.keep_alive()) {
        if (cfg_.think_us == 0) {
            send_request(st, conn, s);
        } else if (think_n_ < think_.size()) {
            think_[(think_head_ + think_n_++) % think_.size()] =
                Thinking{conn, s.gen, st.now().cycles + rate_.us(cfg_.think_us).cycles};
        }
        return;
    }
    finish(st, conn, s);
}

void Client::finish(tcp::Stack& st, uint32_t conn, Slot& s) {
    switch (cfg_.close) {
    case CloseMode::Rst:
        st.abort(conn);
        completed(&s);
        ++s.gen;
        --open_;
        return;
    case CloseMode::ClientFirst:
        st.close(conn);
        s.closed = 1;
        return;
    case CloseMode::ServerFirst:
        // A response that closes (RFC 9112 §9.6) is followed by the server's FIN; one that keeps the connection
        // (we stopped early, or the server ignored our close) leaves the close to us.
        if (s.rp.keep_alive()) {
            st.close(conn);
            s.closed = 1;
        }
        return;
    }
}

void Client::on_peer_fin(tcp::Stack& st, uint32_t conn, Slot& s) {
    if (s.requested != 0) {
        // RFC 9112 §6.3: a response without a length ends with the connection; any other is cut short.
        if (s.rp.eof().p != http::Progress::Done) {
            fail_bad(st, conn, s);
            return;
        }
        const uint32_t gen = s.gen;
        on_response(st, conn, s, true);
        if (s.gen != gen) return;
    } else if (cfg_.send_request && s.sent == 0) {
        fail_bad(st, conn, s);  // closed before we could ask anything
        return;
    }
    st.close(conn);
    s.closed = 1;
}

void Client::resume_thinking(tcp::Stack& st, Instant now) {
    while (think_n_ != 0) {
        const Thinking& t = think_[think_head_];
        if (t.due > now.cycles) return;
        think_head_ = (think_head_ + 1) % think_.size();
        --think_n_;
        Slot& s = slots_[t.conn];
        if (s.gen != t.gen || s.closed || s.requested != 0) continue;  // ended or closing meanwhile
        send_request(st, t.conn, s);
    }
}

}  // namespace synwave::engine
