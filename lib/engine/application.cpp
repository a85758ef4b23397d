#include "engine/application.hpp"

#include "http/http.hpp"

namespace synwave::engine {

std::string http_response(uint32_t body_bytes, bool keepalive) {
    std::string r = http::response_head(200, body_bytes, keepalive);
    const size_t head = r.size();
    r.resize(head + body_bytes);
    for (uint32_t i = 0; i < body_bytes; ++i) r[head + i] = static_cast<char>(pattern_byte(i));
    return r;
}

std::string host_field(const std::string& addr, bool v6, uint16_t port) {
    std::string h;
    if (v6) h.push_back('[');
    h.append(addr);
    if (v6) h.push_back(']');
    if (port != 80) {
        h.push_back(':');
        h += std::to_string(port);
    }
    return h;
}

}  // namespace synwave::engine
