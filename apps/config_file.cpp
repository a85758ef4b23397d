// The TOML config file (--config): the same keys as the long options, with underscores.
#include <toml++/toml.h>

#include <cmath>
#include <limits>

#include "options.hpp"

namespace synwave::app {

bool load_config(const std::string& path, Options& o, std::string& err) {
    toml::table t;
    try {
        t = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const toml::source_position at = e.source().begin;
        // A syntax error has a position (line:column, as compilers give it); a file that cannot be read has none.
        err = path + (at ? ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": not TOML" : "") +
              ": " + std::string(e.description());
        return false;
    }
    for (auto&& [k, v] : t) {
        if (k.str() == "connections") {  // renamed: to a wrk user "connections" are concurrent ones
            err = path + ": key 'connections' is now 'total' (connections to open in all); open connections at "
                         "once are 'concurrency'";
            return false;
        }
        if (!is_config_key(k.str())) {
            err = path + ": unknown key '" + std::string(k.str()) + "'";
            return false;
        }
        if (std::string why; !option_applies(k.str(), o.mode, why)) {
            err = path + ": key '" + std::string(k.str()) + "': " + why;
            return false;
        }
    }
    bool ok = true;
    auto num = [&](const char* k, auto& dst) {
        auto node = t[k];
        if (!node) return;
        // value<int64_t>() takes a float only when it is whole (5.0); 5.5 or a string gives none.
        auto v = node.value<int64_t>();
        using T = std::remove_reference_t<decltype(dst)>;
        if (!v || *v < 0 || static_cast<uint64_t>(*v) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
            const char* why = v && *v < 0                 ? "must not be negative: an integer"
                              : node.is_floating_point() ? "must be a whole number"
                                                         : "must be an integer";
            if (ok) err = path + ": key '" + k + "' " + why + " in [0, " +
                          std::to_string(static_cast<uint64_t>(std::numeric_limits<T>::max())) + "]";
            ok = false;
            return;
        }
        dst = static_cast<T>(*v);
    };
    auto str = [&](const char* k, std::string& dst) {
        auto node = t[k];
        if (!node) return;
        if (auto v = node.value<std::string>()) {
            dst = *v;
        } else {
            if (ok) err = path + ": key '" + k + "' must be a string";
            ok = false;
        }
    };
    auto boolean = [&](const char* k, bool& dst) {
        auto node = t[k];
        if (!node) return;
        if (auto v = node.value<bool>()) {
            dst = *v;
        } else {
            if (ok) err = path + ": key '" + k + "' must be true or false";
            ok = false;
        }
    };
    auto real = [&](const char* k, double& dst) {
        auto node = t[k];
        if (!node) return;
        // Every real key is a finite quantity >= 0 (duration -1 would read as "not given").
        auto v = node.value<double>();
        if (v && std::isfinite(*v) && *v >= 0) {
            dst = *v;
        } else {
            if (ok) err = path + ": key '" + k + "' " + (v && std::isfinite(*v) ? "must not be negative" : "must be a number");
            ok = false;
        }
    };
    // Keys whose absence means "not given" (the option's default depends on others).
    auto opt_num = [&](const char* k, std::optional<uint32_t>& dst) {
        if (!t[k]) return;
        uint32_t v = 0;
        num(k, v);
        dst = v;
    };
    auto opt_real = [&](const char* k, std::optional<double>& dst) {
        if (!t[k]) return;
        double v = 0;
        real(k, v);
        dst = v;
    };
    real("duration", o.duration);
    str("json", o.json_path);
    str("csv", o.csv_path);
    str("metrics", o.metrics);
    str("instance", o.instance_text);
    str("pcap", o.pcap);
    num("max_conns", o.max_conns);
    num("max_timewait", o.max_timewait);
    num("msl_ms", o.msl_ms);
    str("cookies", o.cookies);
    num("half_open_limit", o.half_open_limit);
    boolean("tcp_keepalive", o.tcp_keepalive);
    num("rate", o.rate);
    num("ramp_ms", o.ramp_ms);
    num("concurrency", o.concurrency);
    num("total", o.connections);
    str("close", o.close);
    if (t["request"].is_boolean()) boolean("request", o.request);  // else [[request]] tables (load_http_config)
    str("src", o.src);
    str("src_ports", o.src_ports);
    str("dst", o.dst);
    // port = 80 or port = "80,8000-8009".
    if (auto v = t["port"].value<int64_t>()) {
        o.port_text = std::to_string(*v);
    } else if (t["port"] && !t["port"].is_string()) {
        if (ok) err = path + ": key 'port' must be a port (a whole number) or a string of ports and ranges";
        ok = false;
    } else {
        str("port", o.port_text);
    }
    str("tuple_order", o.tuple_order);
    num("tuple_seed", o.tuple_seed);
    num("response_bytes", o.response_bytes);
    str("ip", o.ip);
    str("behaviour", o.behaviour);
    num("body", o.body);
    num("echo_slots", o.echo_slots);
    boolean("http_keepalive", o.http_keepalive);
    str("flood", o.flood);
    num("flood_rate", o.flood_rate);
    str("flood_src", o.flood_src);
    str("flood_src_ports", o.flood_src_ports);
    boolean("flood_random", o.flood_random);
    num("flood_seed", o.flood_seed);
    num("legit_rate", o.legit_rate);
    // port_id = 0, port_id = [0, 1] or port_id = "0,1".
    if (auto* arr = t["port_id"].as_array()) {
        o.port_id.clear();
        for (auto&& e : *arr) {
            auto v = e.value<int64_t>();
            if (!v || *v < 0 || *v > 65535) {
                if (ok) err = path + ": key 'port_id' must be a port id in [0, 65535], or an array of them";
                ok = false;
                break;
            }
            if (!o.port_id.empty()) o.port_id += ',';
            o.port_id += std::to_string(*v);
        }
    } else if (auto v = t["port_id"].value<int64_t>()) {
        o.port_id = std::to_string(*v);
    } else {
        str("port_id", o.port_id);
    }
    str("peer_mac", o.peer_mac);
    real("fail_tolerance", o.fail_tolerance);
    boolean("quiet", o.quiet);
    boolean("hold", o.hold);
    boolean("drain", o.drain);
    num("lanes", o.lanes);
    real("loss", o.loss);
    num("loss_seed", o.loss_seed);
    opt_real("v6_share", o.v6_share);
    opt_num("vlan", o.vlan);
    opt_num("vlan_pcp", o.vlan_pcp);
    str("gateway", o.gateway);
    str("method", o.method);
    str("path", o.path);
    str("data", o.data);
    str("data_file", o.data_file);
    num("requests", o.requests);
    real("think_ms", o.think_ms);
    str("expect_status", o.expect_status);
    num("max_header", o.max_header);
    num("max_request_body", o.max_request_body);
    num("http_slots", o.http_slots);
    if (auto* arr = t["header"].as_array()) {
        for (auto&& e : *arr) {
            auto v = e.value<std::string>();
            if (!v) {
                if (ok) err = path + ": key 'header' must be an array of \"Name: value\" strings";
                ok = false;
                break;
            }
            o.headers.push_back(*v);
        }
    } else if (t["header"]) {
        if (ok) err = path + ": key 'header' must be an array of \"Name: value\" strings";
        ok = false;
    }
    if (ok && !load_http_config(path, o, err)) ok = false;
    // family = 6 or family = "46": the number or its text.
    if (auto n = t["family"].value<int64_t>()) o.family = std::to_string(*n);
    else str("family", o.family);
    if (auto* arr = t["eal"].as_array()) {
        o.eal.clear();
        for (auto&& e : *arr) {
            auto v = e.value<std::string>();
            if (!v) {
                if (ok) err = path + ": key 'eal' must be an array of strings";
                ok = false;
                break;
            }
            o.eal.push_back(*v);
        }
    } else if (t["eal"]) {
        if (ok) err = path + ": key 'eal' must be an array of strings";
        ok = false;
    }
    return ok;
}

}  // namespace synwave::app
