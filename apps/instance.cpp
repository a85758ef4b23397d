// --instance I/N: this process is instance I of N (on as many machines, or several to a machine) running the same
// configuration against the same servers. Instance I takes the I-th of N disjoint slices of each port's source
// tuples (split_sources: the addresses of each family when every family has at least N, otherwise the source
// ports), so that no two instances ever open the same 4-tuple towards a server; the slices together are the
// whole space. The lcores' own slices (storm lanes, the client's RSS source-port picking, ports sharing one
// --src) are then taken within the instance's.
#include "options.hpp"

namespace synwave::app {

bool finalize_instance(Options& o, std::string& err) {
    o.instance = 0;
    o.instances = 1;
    if (o.instance_text.empty()) return true;
    const std::string& t = o.instance_text;
    const size_t slash = t.find('/');
    uint32_t i = 0, n = 0;
    if (slash == std::string::npos || !parse_u32(std::string_view(t).substr(0, slash), i) ||
        !parse_u32(std::string_view(t).substr(slash + 1), n)) {
        err = "instance: not I/N (instance I of N, 0 <= I < N, e.g. 0/4): '" + t + "'";
        return false;
    }
    if (n == 0 || n > kMaxInstances) {
        err = "instance: N must be in [1, " + std::to_string(kMaxInstances) + "]: '" + t + "'";
        return false;
    }
    if (i >= n) {
        err = "instance: I must be below N (instances are numbered 0 to N-1): '" + t + "'";
        return false;
    }
    o.instance = i;
    o.instances = n;
    for (PortSetup& p : o.ports) {
        const std::vector<SrcSlice> slices = split_sources(p.src, n);
        if (slices.empty()) {
            const uint64_t n4 = p.src.has4() ? uint64_t{p.src.hi.v} - p.src.lo.v + 1 : 0;
            err = "instance: " + std::to_string(n) + " instances need as many disjoint source slices, but src '" +
                  p.src.addrs_text() + "' has " + std::to_string(n4) + " IPv4 and " + std::to_string(p.src.count6) +
                  " IPv6 address(es) and src_ports " + range_text(p.src.port_lo, p.src.port_hi) + " has " +
                  std::to_string(p.src.port_hi - p.src.port_lo + 1) +
                  " port(s) (the addresses of each family, or the ports, must number at least N)";
            return false;
        }
        p.src = slices[i];
    }
    return true;
}

}  // namespace synwave::app
