// Helpers for the lib/http tests: feeding strings to the parsers.
#pragma once
#include "http/http.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace synwave::http::testutil {

inline const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }
inline uint32_t len(std::string_view s) { return static_cast<uint32_t>(s.size()); }

inline const Routes& no_routes() {
    static const Routes r;
    return r;
}

// Feeds a whole string to a fresh request parser.
inline Result feed_request(RequestParser& rp, std::string_view s, const Routes& routes = no_routes(),
                           const RequestLimits& lim = {}) {
    rp.start();
    return rp.feed(routes, lim, bytes(s), len(s));
}

inline Result feed_response(ResponseParser& rp, std::string_view s, bool head = false) {
    rp.start(head);
    return rp.feed(bytes(s), len(s));
}

inline const char* progress_name(Progress p) {
    return p == Progress::More ? "More" : p == Progress::Done ? "Done" : "Error";
}

inline ::testing::AssertionResult is(Result r, Progress p, uint32_t used) {
    if (r.p == p && r.used == used) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << progress_name(r.p) << "/" << r.used << ", want "
                                         << progress_name(p) << "/" << used;
}

}  // namespace synwave::http::testutil
