// The HTTP options: what a client asks (method, path, headers, body; several requests from the config, taken
// by weight), how many requests a connection carries, what status counts as success; and what a server answers
// per path, with its request limits.
#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "cli_kit.hpp"
#include "options.hpp"

namespace synwave::app {

namespace {

bool read_file(const std::string& file, std::string& out) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return in.good() || in.eof();
}

// "Name: value" -> the pair; false when there is no colon.
bool split_header(const std::string& h, std::pair<std::string, std::string>& out) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    size_t v = colon + 1;
    while (v < h.size() && (h[v] == ' ' || h[v] == '\t')) ++v;
    out = {h.substr(0, colon), h.substr(v)};
    return true;
}


// "2xx,304,200-204" -> the set; false with the reason.
bool parse_statuses(const std::string& s, engine::StatusSet& out, std::string& why) {
    engine::StatusSet set;
    size_t at = 0;
    while (at <= s.size()) {
        const size_t comma = std::min(s.find(',', at), s.size());
        const std::string item = s.substr(at, comma - at);
        at = comma + 1;
        uint32_t lo = 0, hi = 0;
        if (item.size() == 3 && item[0] >= '1' && item[0] <= '5' && (item[1] == 'x' || item[1] == 'X') &&
            (item[2] == 'x' || item[2] == 'X')) {
            set.add_class(static_cast<uint16_t>(item[0] - '0'));
            continue;
        }
        const auto dash = item.find('-');
        if (!parse_u32(std::string_view(item).substr(0, dash), lo) ||
            (dash != std::string::npos && !parse_u32(std::string_view(item).substr(dash + 1), hi))) {
            why = "'" + item + "' is not a status (100-599), a range of them or a class like 2xx";
            return false;
        }
        if (dash == std::string::npos) hi = lo;
        if (lo < 100 || hi > 599 || lo > hi) {
            why = "'" + item + "' is outside 100-599" + std::string(lo > hi ? " or reversed" : "");
            return false;
        }
        for (uint32_t c = lo; c <= hi; ++c) set.add(static_cast<uint16_t>(c));
    }
    out = set;
    return true;
}

// "PATH=STATUS[:BODY_BYTES]" -> a route whose body is that much of the test pattern.
bool parse_route(const std::string& s, engine::HttpRoute& r, std::string& why) {
    const auto eq = s.rfind('=');
    if (eq == std::string::npos || eq == 0 || s[0] != '/') {
        why = "'" + s + "' is not PATH=STATUS[:BODY_BYTES] with PATH starting with '/'";
        return false;
    }
    r.path = s.substr(0, eq);
    const std::string rest = s.substr(eq + 1);
    const auto colon = rest.find(':');
    uint32_t status = 0, bytes = 0;
    if (!parse_u32(std::string_view(rest).substr(0, colon), status) || status < 100 || status > 599) {
        why = "'" + s + "': the status must be in 100-599";
        return false;
    }
    if (colon != std::string::npos && (!parse_u32(std::string_view(rest).substr(colon + 1), bytes) || bytes > kMaxBody)) {
        why = "'" + s + "': the body size must be a number of bytes up to " + std::to_string(kMaxBody);
        return false;
    }
    if (colon == std::string::npos) bytes = 0;
    r.status = static_cast<uint16_t>(status);
    r.body.resize(bytes);
    for (uint32_t i = 0; i < bytes; ++i) r.body[i] = static_cast<char>(engine::pattern_byte(i));
    return true;
}

bool check_path(const std::string& p) {
    if (p.empty() || p[0] != '/') return false;
    for (char ch : p)
        if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f || ch == '?' || ch == '#') return false;
    return true;
}

}  // namespace

bool parse_u32(std::string_view t, uint32_t& out) {
    if (t.empty() || t.size() > 9) return false;
    uint32_t v = 0;
    for (char ch : t) {
        if (ch < '0' || ch > '9') return false;
        v = v * 10 + static_cast<uint32_t>(ch - '0');
    }
    out = v;
    return true;
}

void add_http_options(CLI::App& s, Options& o) {
    add_text(s, "--method", o.method, "client: the HTTP request method", "METHOD");
    add_text(s, "--path", o.path, "client: the request target", "PATH");
    s.add_option("--header", o.headers, "client: an extra request field 'Name: value' (repeatable; a Host here replaces the default)")
        ->type_name("'NAME: VALUE'")
        ->allow_extra_args(false);
    add_text(s, "--data", o.data, "client: a request body (sent with Content-Length)", "BODY");
    add_text(s, "--data-file", o.data_file, "client: a request body read from this file", "FILE");
    add_whole(s, "--requests", o.requests, "client: HTTP requests per connection over keep-alive (0: until the run ends)",
              "REQUESTS");
    add_real(s, "--think-ms", o.think_ms, "client: pause between a response and the next request on a connection",
             "MS");
    add_text(s, "--expect-status", o.expect_status,
             "client: the statuses that count a response as good, e.g. 200, 2xx,304 or 200-204; a connection with "
             "any other is failed (status)", "STATUSES");
    s.add_option("--route", o.route,
                 "server: answer PATH with STATUS and BODY_BYTES of the test pattern: PATH=STATUS[:BODY_BYTES], "
                 "e.g. /missing=404 (repeatable; other paths get 200 with --body bytes; [[route]] in the config "
                 "adds headers and file bodies)")
        ->type_name("PATH=STATUS[:BYTES]")
        ->allow_extra_args(false);
    add_whole(s, "--max-header", o.max_header, "server: request header section limit (431 beyond)", "BYTES");
    add_whole(s, "--max-request-body", o.max_request_body, "server: request body limit (413 beyond)", "BYTES");
    add_whole(s, "--http-slots", o.http_slots,
              "server: requests split over segments or pipelined that can wait at once per lcore", "REQUESTS");
}

bool load_http_config(const std::string& path, Options& o, std::string& err) {
    toml::table t;
    try {
        t = toml::parse_file(path);
    } catch (const toml::parse_error&) {
        return true;  // reported by load_config
    }
    const auto fail = [&](const std::string& what) {
        err = path + ": " + what;
        return false;
    };
    // headers = ["Name: value", ...]
    const auto headers_of = [&](const toml::node_view<const toml::node>& n, const std::string& key,
                                std::vector<std::pair<std::string, std::string>>& out) {
        if (!n) return true;
        const auto* arr = n.as_array();
        if (!arr) return fail("key '" + key + "' must be an array of \"Name: value\" strings");
        for (auto&& e : *arr) {
            std::pair<std::string, std::string> h;
            const auto v = e.value<std::string>();
            if (!v || !split_header(*v, h)) return fail("key '" + key + "' must be an array of \"Name: value\" strings");
            out.push_back(h);
        }
        return true;
    };
    if (const auto* reqs = t["request"].as_array()) {
        size_t i = 0;
        for (auto&& e : *reqs) {
            const std::string at = "request[" + std::to_string(i++) + "]";
            const auto* r = e.as_table();
            if (!r) return fail("'" + at + "' must be a table ([[request]])");
            for (auto&& [k, v] : *r) {
                const std::string key(k.str());
                if (key != "method" && key != "path" && key != "headers" && key != "body" && key != "body_file" &&
                    key != "weight")
                    return fail("unknown key '" + at + "." + key + "' (method, path, headers, body, body_file, weight)");
            }
            engine::RequestDef d;
            if (auto v = (*r)["method"].value<std::string>()) d.spec.method = *v;
            if (auto v = (*r)["path"].value<std::string>()) d.spec.path = *v;
            if (auto v = (*r)["body"].value<std::string>()) d.spec.body = *v;
            if (auto v = (*r)["body_file"].value<std::string>())
                if (!read_file(*v, d.spec.body)) return fail("key '" + at + ".body_file': cannot read " + *v);
            if ((*r)["weight"]) {
                const auto w = (*r)["weight"].value<int64_t>();
                if (!w || *w < 1 || *w > 1000000) return fail("key '" + at + ".weight' must be an integer in [1, 1000000]");
                d.weight = static_cast<uint32_t>(*w);
            }
            if (!headers_of((*r)["headers"], at + ".headers", d.spec.headers)) return false;
            o.request_defs.push_back(std::move(d));
        }
    } else if (t["request"] && !t["request"].is_boolean()) {
        return fail("key 'request' must be true/false or an array of tables ([[request]])");
    }
    if (const auto* routes = t["route"].as_array()) {
        size_t i = 0;
        for (auto&& e : *routes) {
            const std::string at = "route[" + std::to_string(i++) + "]";
            if (auto v = e.value<std::string>()) {
                o.route.push_back(*v);
                continue;
            }
            const auto* r = e.as_table();
            if (!r) return fail("'" + at + "' must be \"PATH=STATUS[:BYTES]\" or a table ([[route]])");
            for (auto&& [k, v] : *r) {
                const std::string key(k.str());
                if (key != "path" && key != "status" && key != "headers" && key != "body" && key != "body_file" &&
                    key != "body_bytes")
                    return fail("unknown key '" + at + "." + key + "' (path, status, headers, body, body_file, body_bytes)");
            }
            engine::HttpRoute route;
            const auto p = (*r)["path"].value<std::string>();
            if (!p || !check_path(*p)) return fail("key '" + at + ".path' must be a path starting with '/' (no spaces, '?' or '#')");
            route.path = *p;
            const auto st = (*r)["status"].value<int64_t>();
            if ((*r)["status"] && (!st || *st < 100 || *st > 599)) return fail("key '" + at + ".status' must be in 100-599");
            if (st) route.status = static_cast<uint16_t>(*st);
            if (auto v = (*r)["body"].value<std::string>()) route.body = *v;
            if (auto v = (*r)["body_file"].value<std::string>())
                if (!read_file(*v, route.body)) return fail("key '" + at + ".body_file': cannot read " + *v);
            if ((*r)["body_bytes"]) {
                const auto b = (*r)["body_bytes"].value<int64_t>();
                if (!b || *b < 0 || *b > kMaxBody) return fail("key '" + at + ".body_bytes' must be in [0, " + std::to_string(kMaxBody) + "]");
                route.body.resize(static_cast<size_t>(*b));
                for (size_t k = 0; k < route.body.size(); ++k) route.body[k] = static_cast<char>(engine::pattern_byte(k));
            }
            if (!headers_of((*r)["headers"], at + ".headers", route.headers)) return false;
            o.routes.push_back(std::move(route));
        }
    }
    return true;
}

bool finalize_http(Options& o, std::string& err) {
    std::string why;
    if (!parse_statuses(o.expect_status, o.expect, why)) {
        err = "expect_status: " + why;
        return false;
    }
    if (!(o.think_ms >= 0 && o.think_ms <= 3'600'000)) {
        err = "think_ms: must be in [0, 3600000] ms";
        return false;
    }
    if (o.max_header < 256 || o.max_header > (1u << 20)) {
        err = "max_header: must be in [256, 1048576] bytes";
        return false;
    }
    if (o.http_slots == 0 || o.http_slots > (1u << 22)) {
        err = "http_slots: must be in [1, 4194304]";
        return false;
    }
    for (const std::string& r : o.route) {
        engine::HttpRoute route;
        if (!parse_route(r, route, why)) {
            err = "route: " + why;
            return false;
        }
        o.routes.push_back(std::move(route));
    }
    if (o.routes.size() > http::Routes::kMax) {
        err = "route: at most " + std::to_string(http::Routes::kMax) + " paths";
        return false;
    }
    // One request from the flags unless the config gave [[request]] tables.
    if (o.request_defs.empty()) {
        engine::RequestDef d;
        d.spec.method = o.method;
        d.spec.path = o.path;
        d.spec.body = o.data;
        if (!o.data_file.empty() && !read_file(o.data_file, d.spec.body)) {
            err = "data_file: cannot read '" + o.data_file + "'";
            return false;
        }
        for (size_t i = 0; i < o.headers.size(); ++i) {
            std::pair<std::string, std::string> h;
            if (!split_header(o.headers[i], h)) {
                err = "header: '" + o.headers[i] + "' is not 'Name: value'";
                return false;
            }
            d.spec.headers.push_back(h);
        }
        o.request_defs.push_back(std::move(d));
    }
    for (size_t i = 0; i < o.request_defs.size(); ++i) {
        http::RequestSpec spec = o.request_defs[i].spec;
        spec.host = "x";  // the destination's, filled in per family by the client
        if (!http::check_request(spec, why)) {
            err = (o.request_defs.size() > 1 ? "request[" + std::to_string(i) + "]: " : std::string("request: ")) + why;
            return false;
        }
    }
    if (o.request_defs.size() > 256) {
        err = "request: at most 256 [[request]] tables";
        return false;
    }
    return true;
}

}  // namespace synwave::app
