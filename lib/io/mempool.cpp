// Packet mbuf pool creation; see mempool.hpp.
#include "io/mempool.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace synwave::io {

void MempoolDeleter::operator()(rte_mempool* mp) const noexcept { rte_mempool_free(mp); }

Result<MempoolPtr> make_pktmbuf_pool(const std::string& name, uint32_t n_mbufs, uint32_t cache, uint16_t data_room,
                                     int socket) {
    const std::string what = "cannot create mbuf pool '" + name + "' (" + std::to_string(n_mbufs) +
                             " mbufs, data room " + std::to_string(data_room) + ", cache " + std::to_string(cache) +
                             ", socket " + std::to_string(socket) + ")";
    if (name.size() >= RTE_MEMPOOL_NAMESIZE)
        return Error{what + ": name longer than " + std::to_string(RTE_MEMPOOL_NAMESIZE - 1) + " characters"};
    if (data_room < RTE_PKTMBUF_HEADROOM)
        return Error{what + ": data room smaller than the headroom (" + std::to_string(RTE_PKTMBUF_HEADROOM) + ")"};
    rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), n_mbufs, cache, 0, data_room, socket);
    if (mp == nullptr) {
        const int e = rte_errno;
        std::string hint;
        switch (e) {
        case EEXIST: hint = "a mempool (or memzone) of that name already exists"; break;
        case ENOMEM: hint = "not enough memory: lower the mbuf count or raise EAL's -m"; break;
        case EINVAL: hint = "invalid size: cache above 512 or above 2/3 of the mbuf count"; break;
        case ENOSPC: hint = "the maximum number of memzones has been reached"; break;
        default: hint = "see the EAL log"; break;
        }
        return Error{what + ": " + rte_strerror(e) + " (" + hint + ")"};
    }
    return MempoolPtr(mp);
}

}  // namespace synwave::io
