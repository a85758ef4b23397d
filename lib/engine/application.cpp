#include "engine/application.hpp"

namespace synwave::engine {

std::string http_response(uint32_t body_bytes, bool keepalive) {
    std::string r = "HTTP/1.1 200 OK\r\nServer: synwave\r\nContent-Type: text/plain\r\nContent-Length: ";
    r += std::to_string(body_bytes);
    r += keepalive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    const size_t head = r.size();
    r.resize(head + body_bytes);
    for (uint32_t i = 0; i < body_bytes; ++i) r[head + i] = static_cast<char>(pattern_byte(i));
    return r;
}

std::string http_request(const std::string& host) {
    return "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: synwave\r\nConnection: close\r\n\r\n";
}
std::string http_request(Ipv4 host) { return http_request(host.str()); }
// RFC 9110 §7.2 / RFC 3986 §3.2.2: an IPv6 literal in Host is bracketed.
std::string http_request(const Ipv6& host) {
    std::string h(1, '[');
    h.append(host.str()).push_back(']');
    return http_request(h);
}

}  // namespace synwave::engine
