#include "core/siphash.hpp"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

namespace portico::core {

SipKey SipKey::random() noexcept {
    SipKey key;
    uint64_t words[2];
    if (::getrandom(words, sizeof words, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof words)) {
        key.k0 = words[0];
        key.k1 = words[1];
        return key;
    }
    // No entropy yet (very early boot) or getrandom refused by a sandbox: not secret, but at least
    // not the same in every process.
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    key.k0 = static_cast<uint64_t>(ts.tv_nsec) * 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(ts.tv_sec);
    key.k1 = static_cast<uint64_t>(::getpid()) * 0xc2b2ae3d27d4eb4fULL ^ key.k0;
    return key;
}

}  // namespace portico::core
