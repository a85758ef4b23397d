// The server's HTTP/1.1 side (RFC 9112): requests parsed as they arrive, across segments and pipelined, each
// answered in order with a prebuilt response chosen by its path, method and persistence.
#include <algorithm>

#include "engine/server.hpp"

namespace synwave::engine {

using tcp::Event;

namespace {

std::string error_body(uint16_t status) { return std::string(http::reason_phrase(status)) + "\n"; }

}  // namespace

// Every response the server can give exists before the first connection: per route (and the fallback) four
// texts, with and without a body (HEAD, RFC 9110 §9.3.2) and keeping or closing the connection (the
// Connection field says which, RFC 9112 §9.6); then the error answers, which always close.
void Server::build_responses() {
    if (cfg_.behaviour != ServerBehaviour::Http) return;
    std::vector<HttpRoute> all = cfg_.routes;
    if (cfg_.routes.size() > http::Routes::kMax) all.resize(http::Routes::kMax);
    for (const HttpRoute& r : all) routes_.paths.push_back(r.path);
    if (cfg_.fallback) {
        all.push_back(*cfg_.fallback);
    } else {
        HttpRoute f;
        f.body.resize(cfg_.body_bytes);
        for (uint32_t i = 0; i < cfg_.body_bytes; ++i) f.body[i] = static_cast<char>(pattern_byte(i));
        all.push_back(std::move(f));
    }
    for (const HttpRoute& r : all) {
        for (const bool head : {false, true}) {
            for (const bool closes : {false, true}) {
                std::string t = http::response_head(r.status, r.body.size(), !closes, r.headers);
                if (!head) t += r.body;
                responses_.push_back(Response{std::move(t), r.status, closes});
            }
        }
    }
    const auto error = [&](uint16_t status) {
        const std::string body = error_body(status);
        responses_.push_back(Response{http::response_head(status, body.size(), false) + body, status, true});
        return static_cast<uint8_t>(responses_.size() - 1);
    };
    err_400_ = error(400);
    err_413_ = error(413);
    err_431_ = error(431);
    err_501_ = error(501);
    err_503_ = error(503);
    responses_.push_back(Response{"HTTP/1.1 100 Continue\r\n\r\n", 100, false});
    continue_ = static_cast<uint8_t>(responses_.size() - 1);
}

// Which response a parsed request (or a parse error) gets.
uint8_t Server::decide(const http::RequestParser& rp, bool error) {
    if (error) {
        switch (rp.error()) {
        case http::ParseError::HeaderTooLarge: ++c.requests_too_large; return err_431_;
        case http::ParseError::BodyTooLarge: ++c.requests_too_large; return err_413_;
        case http::ParseError::UnknownMethod: ++c.requests_not_implemented; return err_501_;
        default: ++c.requests_bad; return err_400_;
        }
    }
    ++c.requests_received;
    // RFC 9112 §3.2: a server MUST respond with 400 to an HTTP/1.1 request that lacks a Host field.
    if (rp.version_minor() >= 1 && !rp.has_host()) {
        ++c.requests_bad;
        return err_400_;
    }
    const http::Method m = rp.method();
    // RFC 9110 §15.6.2: a method the server does not implement gets 501.
    if (m != http::Method::Get && m != http::Method::Head && m != http::Method::Post) {
        ++c.requests_not_implemented;
        return err_501_;
    }
    const int route = rp.route() >= 0 ? rp.route() : static_cast<int>(routes_.paths.size());
    // RFC 9112 §9.3: the connection persists when the request asks for it (1.1 default, 1.0 with
    // keep-alive) and this server keeps connections; otherwise the response says close and the server closes.
    const bool closes = !(cfg_.keepalive && rp.keep_alive());
    return static_cast<uint8_t>(route * 4 + (m == http::Method::Head ? 2 : 0) + (closes ? 1 : 0));
}

uint32_t Server::http_slot(uint32_t conn) {
    uint32_t& s = http_of_[conn];
    if (s != kNoSlot || http_free_.empty()) return s;
    s = http_free_.back();
    http_free_.pop_back();
    http_[s] = HttpSlot{};
    return s;
}

void Server::http_release(uint32_t conn) {
    if (conn >= http_of_.size() || http_of_[conn] == kNoSlot) return;
    http_free_.push_back(http_of_[conn]);
    http_of_[conn] = kNoSlot;
}

// After a response left (or was queued last): a closing one ends our side as the close mode says.
void Server::after_response(tcp::Stack& st, uint32_t conn, const Response& r) {
    count_status(c, r.status);
    if (r.status < 200) return;  // interim: the final response is still to come
    ++c.responses_sent;
    if (!r.closes) return;
    if (cfg_.close == CloseMode::Rst) {
        st.abort(conn);
        http_release(conn);
        completed(conn);
    } else if (cfg_.close == CloseMode::ServerFirst || cfg_.keepalive) {
        st.close(conn);
    }
}

bool Server::respond(tcp::Stack& st, uint32_t conn, uint8_t id) {
    const Response& r = responses_[id];
    const uint32_t s = http_of_[conn];
    if (s == kNoSlot || http_[s].queued == 0) {
        if (st.send(conn, reinterpret_cast<const uint8_t*>(r.bytes.data()), static_cast<uint32_t>(r.bytes.size()))) {
            after_response(st, conn, r);
            return true;
        }
    }
    // One response is in flight (send() takes one buffer at a time): this one waits for its SendDone. The
    // stack delivers SendDone from the first such wait on: a server that never has to wait (one request per
    // exchange, answered at once) is not handed an event per response that it would ignore.
    const uint32_t q = http_slot(conn);
    if (q == kNoSlot || http_[q].queued == HttpSlot::kQueue) return false;
    st.add_interests(tcp::event_bit(tcp::EventKind::SendDone));
    HttpSlot& h = http_[q];
    h.queue[(h.head + h.queued++) % HttpSlot::kQueue] = id;
    ++c.responses_queued;
    return true;
}

void Server::http_send_done(tcp::Stack& st, uint32_t conn) {
    if (conn >= http_of_.size() || http_of_[conn] == kNoSlot) return;
    HttpSlot& h = http_[http_of_[conn]];
    if (h.queued == 0) return;
    const Response& r = responses_[h.queue[h.head]];
    if (!st.send(conn, reinterpret_cast<const uint8_t*>(r.bytes.data()), static_cast<uint32_t>(r.bytes.size())))
        return;
    h.head = static_cast<uint8_t>((h.head + 1) % HttpSlot::kQueue);
    --h.queued;
    after_response(st, conn, r);
    if (h.queued == 0 && h.fin && !r.closes) st.close(conn);
    if (h.queued == 0 && h.req.idle() && http_of_[conn] != kNoSlot) http_release(conn);
}

bool Server::close_after_queue(uint32_t conn) {
    const uint32_t s = http_of_[conn];
    if (s == kNoSlot || http_[s].queued == 0) return false;
    HttpSlot& h = http_[s];
    uint8_t& last = h.queue[(h.head + h.queued - 1) % HttpSlot::kQueue];
    // The route answers are laid out [route * 4 + head * 2 + closes] (build_responses); the errors all close.
    // A 100 Continue last invited content that now goes unanswered: a 503 and the close instead.
    if (responses_[last].status < 200) last = err_503_;
    else if (!responses_[last].closes) last = static_cast<uint8_t>(last | 1);
    flags_[conn] |= kClosing;
    return true;
}

bool Server::http_peer_fin(uint32_t conn) {
    if (conn >= http_of_.size() || http_of_[conn] == kNoSlot) return true;
    HttpSlot& h = http_[http_of_[conn]];
    if (h.queued == 0) return true;
    h.fin = true;
    return false;
}

// Bytes of the request stream: each complete request is answered (or queued) before the next is parsed. A
// request still incomplete at the end of the segment keeps its parser in a slot until the rest arrives.
void Server::http_data(tcp::Stack& st, const Event& ev) {
    if (ev.conn >= flags_.size()) {  // set_slots() was not given room for this connection
        ++c.http_no_slot;
        st.abort(ev.conn);
        return;
    }
    if (flags_[ev.conn] & kClosing) {  // RFC 9112 §9.6: nothing after a request that closes is answered
        c.http_ignored_bytes += ev.len;
        return;
    }
    uint32_t slot = http_of_[ev.conn];
    http::RequestParser scratch;
    http::RequestParser* rp = &scratch;
    if (slot != kNoSlot) rp = &http_[slot].req;
    else scratch.start();
    const uint8_t* p = ev.data;
    uint32_t left = ev.len;
    while (left != 0) {
        const http::Result r = rp->feed(routes_, cfg_.limits, p, left);
        p += r.used;
        left -= r.used;
        if (r.p == http::Progress::More) break;
        const uint8_t id = decide(*rp, r.p == http::Progress::Error);
        const bool closes = responses_[id].closes;
        if (closes) flags_[ev.conn] |= kClosing;
        if (!respond(st, ev.conn, id)) {
            // No room for this pipelined response: the client outran us. With a full queue the last response
            // in it closes instead (RFC 9112 §9.6, §9.3.2: the client retries what went unanswered), so it
            // gets those answers and a FIN; with no slot at all the connection is reset.
            ++c.http_no_slot;
            if (close_after_queue(ev.conn)) {
                c.http_ignored_bytes += left + r.used;
                return;
            }
            st.abort(ev.conn);
            http_release(ev.conn);
            return;
        }
        if (closes) {
            c.http_ignored_bytes += left;
            break;
        }
        slot = http_of_[ev.conn];
        if (slot != kNoSlot && rp != &http_[slot].req) rp = &http_[slot].req;  // the queue took a slot
        rp->start();
    }
    if (flags_[ev.conn] & kClosing) return;
    // RFC 9110 §10.1.1: a client that sent "Expect: 100-continue" waits for a 100 (Continue) before the content;
    // the server MUST send it (or a final status) at once, not wait for the content. Once per request, and not
    // when content came already (the client did not wait: a server MAY omit it then).
    if (rp->expects_continue() && rp->headers_done() && rp->body_bytes() == 0) {
        rp->continue_sent();
        (void)respond(st, ev.conn, continue_);  // no room in a full pipeline queue: the client's timeout sends on
    }
    slot = http_of_[ev.conn];
    if (!rp->idle() && rp == &scratch) {
        slot = http_slot(ev.conn);
        if (slot == kNoSlot) {
            ++c.http_no_slot;
            flags_[ev.conn] |= kClosing;
            if (!respond(st, ev.conn, err_503_)) st.abort(ev.conn);
            return;
        }
        http_[slot].req = scratch;
    }
    if (slot != kNoSlot && rp->idle() && http_[slot].queued == 0) http_release(ev.conn);
}

}  // namespace synwave::engine
