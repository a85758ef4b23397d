// config_json (config_json.hpp): keys and order as config_file.cpp reads them, grouped as options.hpp is.
#include "config_json.hpp"

namespace synwave::app {

namespace {

template <typename T>
nlohmann::ordered_json opt(const std::optional<T>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

const char* mode_name(Mode m) { return m == Mode::Storm ? "storm" : m == Mode::Server ? "server" : "client"; }

}  // namespace

nlohmann::ordered_json config_json(const Options& o) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["mode"] = mode_name(o.mode);
    j["config"] = o.config;
    j["duration"] = o.duration;
    j["json"] = o.json_path;
    j["csv"] = o.csv_path;
    j["metrics"] = o.metrics;
    j["instance"] = std::to_string(o.instance) + "/" + std::to_string(o.instances);
    j["pcap"] = o.pcap;
    // tables and TCP
    j["max_conns"] = o.max_conns;
    j["max_timewait"] = o.max_timewait;
    j["msl_ms"] = o.msl_ms;
    j["cookies"] = o.cookies;
    j["half_open_limit"] = o.half_open_limit;
    j["tcp_keepalive"] = o.tcp_keepalive;
    // client
    j["rate"] = o.rate;
    j["ramp_ms"] = o.ramp_ms;
    j["concurrency"] = o.concurrency;
    j["total"] = o.connections;
    j["close"] = o.close;
    j["request"] = o.request;
    j["src"] = o.src;
    j["src_ports"] = o.src_ports;
    j["dst"] = o.dst;
    j["port"] = o.port_text;
    j["tuple_order"] = o.tuple_order;
    j["tuple_seed"] = o.tuple_seed;
    j["response_bytes"] = o.response_bytes;
    // server
    j["ip"] = o.ip;
    j["behaviour"] = o.behaviour;
    j["body"] = o.body;
    j["http_keepalive"] = o.http_keepalive;
    j["echo_slots"] = o.echo_slots;
    // HTTP
    j["method"] = o.method;
    j["path"] = o.path;
    j["header"] = o.headers;
    j["data"] = o.data;
    j["data_file"] = o.data_file;
    j["requests"] = o.requests;
    j["think_ms"] = o.think_ms;
    j["expect_status"] = o.expect_status;
    j["route"] = o.route;
    j["max_header"] = o.max_header;
    j["max_request_body"] = o.max_request_body;
    j["http_slots"] = o.http_slots;
    // ports
    j["port_id"] = o.port_id;
    j["peer_mac"] = o.peer_mac;
    j["gateway"] = o.gateway;
    j["vlan"] = opt(o.vlan);
    j["vlan_pcp"] = opt(o.vlan_pcp);
    j["v6_share"] = opt(o.v6_share);
    j["family"] = o.family;
    j["eal"] = o.eal;
    // storm, impairment, outcome
    j["lanes"] = o.lanes;
    j["loss"] = o.loss;
    j["loss_seed"] = o.loss_seed;
    j["fail_tolerance"] = o.fail_tolerance;
    j["quiet"] = o.quiet;
    j["drain"] = o.drain;
    j["hold"] = o.hold;
    // flood
    j["flood"] = o.flood;
    j["flood_rate"] = o.flood_rate;
    j["flood_src"] = o.flood_src;
    j["flood_src_ports"] = o.flood_src_ports;
    j["flood_random"] = o.flood_random;
    j["flood_seed"] = o.flood_seed;
    j["legit_rate"] = o.legit_rate;
    return j;
}

}  // namespace synwave::app
