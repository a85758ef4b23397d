#include "http/fast.hpp"

#include <array>
#include <bit>
#include <cstring>

#include <emmintrin.h>

namespace synwave::http::fast {

namespace {

// RFC 9110 §5.6.2 tchar, by table (the name loop's one lookup a byte).
constexpr std::array<bool, 256> kTchar = [] {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 256; ++c) t[c] = is_tchar(static_cast<uint8_t>(c));
    return t;
}();

// The CR that ends a field value (or the reason phrase) starting at v, or nullptr when a control byte other
// than HTAB comes first (RFC 9110 §5.5: values are VCHAR, obs-text, SP and HTAB; http_parser refuses the
// others) or no CR comes before `end`. Eight bytes at a time: the lowest byte below 0x20 or equal to 0x7F is
// found exactly (the borrow of the subtraction can only flag bytes above a true one).
const uint8_t* value_end(const uint8_t* v, const uint8_t* end) {
    constexpr uint64_t k01 = 0x0101'0101'0101'0101ULL, k80 = 0x8080'8080'8080'8080ULL;
    while (end - v >= 8) {
        uint64_t x;
        std::memcpy(&x, v, 8);
        const uint64_t y = x ^ (k01 * 0x7f);
        const uint64_t m = (((x - k01 * 0x20) & ~x) | ((y - k01) & ~y)) & k80;
        if (m == 0) {
            v += 8;
            continue;
        }
        const uint8_t* b = v + (std::countr_zero(m) >> 3);
        if (*b == '\r') return b;
        if (*b != '\t') return nullptr;
        v = b + 1;
    }
    for (; v < end; ++v) {
        if (*v == '\r') return v;
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f) return nullptr;
    }
    return nullptr;
}

// ASCII case-insensitive compare of [p, p+n) with a lower-case literal of length n: each byte of p with bit
// 0x20 set must equal the literal's, eight at a time. (The literals are letters, digits and '-', which have that
// bit; of the bytes that can reach here, tchar names and values without control bytes, only the letters' upper
// cases change under it.)
[[nodiscard]] bool ieq(const uint8_t* p, const char* lit, size_t n) {
    constexpr uint64_t k20 = 0x2020'2020'2020'2020ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        std::memcpy(&a, p + i, 8);
        std::memcpy(&b, lit + i, 8);
        if ((a | k20) != b) return false;
    }
    for (; i < n; ++i)
        if ((p[i] | 0x20) != static_cast<uint8_t>(lit[i])) return false;
    return true;
}

// The first byte from q that is not a tchar (the end of a field name), or `end`. Sixteen bytes at a time while
// they are letters, digits or '-' (what field names are made of in practice); from the first other byte on, the
// table decides byte by byte.
const uint8_t* name_end(const uint8_t* q, const uint8_t* end) {
    const __m128i k20 = _mm_set1_epi8(0x20), ka = _mm_set1_epi8('a'), k0 = _mm_set1_epi8('0'),
                  k25 = _mm_set1_epi8(25), k9 = _mm_set1_epi8(9), kdash = _mm_set1_epi8('-');
    while (end - q >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
        // Unsigned range tests: v - lo <= hi - lo, as min(v - lo, hi - lo) == v - lo.
        const __m128i l = _mm_sub_epi8(_mm_or_si128(x, k20), ka);
        const __m128i d = _mm_sub_epi8(x, k0);
        const __m128i ok = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, k25), l),
                                                     _mm_cmpeq_epi8(_mm_min_epu8(d, k9), d)),
                                        _mm_cmpeq_epi8(x, kdash));
        const auto bad = static_cast<uint32_t>(~_mm_movemask_epi8(ok)) & 0xFFFFu;
        if (bad != 0) {
            q += std::countr_zero(bad);
            break;
        }
        q += 16;
    }
    while (q < end && kTchar[*q]) ++q;
    return q;
}

// http_parser's own limit on a head (HTTP_MAX_HEADER_SIZE, compiled into Debian's library), less a margin:
// heads near it are left to http_parser, which refuses those over it.
constexpr std::ptrdiff_t kMaxHead = HTTP_MAX_HEADER_SIZE - 256;

struct Fields {
    bool close = false, keep_alive = false, has_length = false, has_host = false, expect_continue = false;
    uint64_t length = 0;
};

// The field lines from q to the empty line that ends them; returns the byte after it, or nullptr when a line
// is not of the common shape (or the head does not end within [q, end)).
const uint8_t* scan_fields(const uint8_t* q, const uint8_t* end, Fields& f) {
    for (;;) {
        if (end - q < 2) return nullptr;
        if (q[0] == '\r') return q[1] == '\n' ? q + 2 : nullptr;
        const uint8_t* name = q;
        q = name_end(q, end);  // a line starting with SP/HTAB (obs-fold) stops here too
        if (q == name || q == end || *q != ':') return nullptr;
        const size_t nlen = static_cast<size_t>(q - name);
        ++q;
        while (q < end && (*q == ' ' || *q == '\t')) ++q;
        const uint8_t* v = q;
        const uint8_t* cr = value_end(q, end);
        if (cr == nullptr || end - cr < 2 || cr[1] != '\n') return nullptr;
        const uint8_t* ve = cr;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) --ve;
        const size_t vlen = static_cast<size_t>(ve - v);
        // Names http_parser treats specially by prefix (a longer name starting with one of its own is flagged
        // as it), Proxy-Connection (read as Connection) and Upgrade: left to it.
        if (nlen >= 7) {
            const uint8_t c0 = name[0] | 0x20;
            if ((c0 == 't' && nlen > 17 && ieq(name, "transfer-encoding", 17)) ||
                (c0 == 'c' && nlen > 14 && ieq(name, "content-length", 14)) ||
                (c0 == 'c' && nlen > 10 && ieq(name, "connection", 10)) ||
                (c0 == 'p' && nlen >= 16 && ieq(name, "proxy-connection", 16)) || (c0 == 'u' && ieq(name, "upgrade", 7)))
                return nullptr;
        }
        switch (nlen) {
        case 4:
            if (ieq(name, "host", 4)) {
                if (f.has_host) return nullptr;  // a second Host: http_parser's path answers 400
                f.has_host = true;
            }
            break;
        case 6:
            // RFC 9110 §10.1.1: one Expect field of exactly "100-continue"; others (a list, another
            // expectation, a second field) are left to http_parser's path.
            if ((name[0] | 0x20) == 'e' && ieq(name, "expect", 6)) {
                if (f.expect_continue || vlen != 12 || !ieq(v, "100-continue", 12)) return nullptr;
                f.expect_continue = true;
            }
            break;
        case 10:
            if (ieq(name, "connection", 10)) {
                if (f.close || f.keep_alive) return nullptr;  // twice: http_parser's flags decide
                // http_parser reads a tab after the token as more of the value (not close / keep-alive).
                if (ve != cr && std::memchr(ve, '\t', static_cast<size_t>(cr - ve)) != nullptr) return nullptr;
                if (vlen == 5 && ieq(v, "close", 5)) f.close = true;
                else if (vlen == 10 && ieq(v, "keep-alive", 10)) f.keep_alive = true;
                else return nullptr;  // a list, upgrade, ...
            }
            break;
        case 14:
            if (ieq(name, "content-length", 14)) {
                // Digits and nothing else, not even trailing whitespace (http_parser's rules for it differ).
                if (f.has_length || vlen == 0 || vlen > 15 || ve != cr) return nullptr;
                uint64_t n = 0;
                for (const uint8_t* d = v; d < ve; ++d) {
                    if (*d < '0' || *d > '9') return nullptr;
                    n = n * 10 + (*d - '0');
                }
                f.has_length = true;
                f.length = n;
            }
            break;
        case 17:
            if (ieq(name, "transfer-encoding", 17)) return nullptr;
            break;
        default: break;
        }
        q = cr + 2;
    }
}

// RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
[[nodiscard]] bool persists(uint8_t minor, const Fields& f) { return minor == 1 ? !f.close : f.keep_alive && !f.close; }

}  // namespace

bool scan_response(const uint8_t* p, uint32_t n, ResponseHead& h) {
    // "HTTP/1.x SSS " then the reason phrase (RFC 9112 §4).
    if (n < 19 || std::memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
        p[12] != ' ')
        return false;
    for (int i = 9; i < 12; ++i)
        if (p[i] < '0' || p[i] > '9') return false;
    const uint16_t status = static_cast<uint16_t>((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
    if (status < 200 || status > 599) return false;  // interim responses: http_parser reads past them
    const uint8_t* end = p + n;
    const uint8_t* cr = value_end(p + 13, end);
    if (cr == nullptr || end - cr < 2 || cr[1] != '\n') return false;
    Fields f;
    const uint8_t* body = scan_fields(cr + 2, end, f);
    if (body == nullptr) return false;
    if (body - p > kMaxHead) return false;
    const bool no_body = status == 204 || status == 304;  // RFC 9110 §6.4.1
    if (!no_body && !f.has_length) return false;           // close-delimited: http_parser
    h.head_len = static_cast<uint32_t>(body - p);
    h.status = status;
    h.minor = static_cast<uint8_t>(p[7] - '0');
    h.keep_alive = persists(h.minor, f);
    h.has_length = f.has_length;
    h.length = no_body ? 0 : f.length;
    return true;
}

bool scan_request(const uint8_t* p, uint32_t n, const Routes& routes, const RequestLimits& lim, RequestHead& h) {
    if (n < 18) return false;
    const uint8_t* q = p;
    switch (p[0]) {  // the methods synwave tells apart (RFC 9110 §9.3); others go to http_parser
    case 'G': if (std::memcmp(p, "GET ", 4) != 0) return false; h.method = Method::Get; q += 4; break;
    case 'H': if (std::memcmp(p, "HEAD ", 5) != 0) return false; h.method = Method::Head; q += 5; break;
    case 'P':
        if (std::memcmp(p, "POST ", 5) == 0) {
            h.method = Method::Post;
            q += 5;
        } else if (std::memcmp(p, "PUT ", 4) == 0) {
            h.method = Method::Put;
            q += 4;
        } else {
            return false;
        }
        break;
    default: return false;
    }
    const uint8_t* end = p + n;
    if (q == end || *q != '/') return false;  // origin-form only (RFC 9112 §3.2.1)
    const uint8_t* path = q;
    const uint8_t* path_end = nullptr;
    for (; q < end && *q != ' '; ++q) {
        if (*q <= 0x20 || *q >= 0x7f) return false;
        if ((*q == '?' || *q == '#') && path_end == nullptr) path_end = q;
    }
    if (path_end == nullptr) path_end = q;
    if (end - q < 11 || std::memcmp(q, " HTTP/1.", 8) != 0 || (q[8] != '0' && q[8] != '1') || q[9] != '\r' ||
        q[10] != '\n')
        return false;
    h.minor = static_cast<uint8_t>(q[8] - '0');
    Fields f;
    const uint8_t* body = scan_fields(q + 11, end, f);
    if (body == nullptr || body - p > kMaxHead || static_cast<uint64_t>(body - p) > lim.max_header ||
        f.length > lim.max_body)
        return false;
    const size_t plen = static_cast<size_t>(path_end - path);
    h.route = -1;
    for (size_t i = 0; i < routes.paths.size() && i < Routes::kMax; ++i) {
        const std::string& r = routes.paths[i];
        if (r.size() == plen && std::memcmp(r.data(), path, plen) == 0) {
            h.route = static_cast<int>(i);
            break;
        }
    }
    h.head_len = static_cast<uint32_t>(body - p);
    h.keep_alive = persists(h.minor, f);
    h.has_host = f.has_host;
    h.expect_continue = f.expect_continue;
    h.length = f.length;
    return true;
}

}  // namespace synwave::http::fast
