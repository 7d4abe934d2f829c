#include "core/signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace portico::core {

UniqueFd block_and_open_signalfd(std::initializer_list<int> signals) noexcept {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return UniqueFd{};
    return UniqueFd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

int read_signal(int sfd) noexcept {
    signalfd_siginfo info;
    for (;;) {
        ssize_t n = ::read(sfd, &info, sizeof info);
        if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
        if (n < 0 && errno == EINTR) continue;
        return 0;
    }
}

void ignore_sigpipe() noexcept { std::signal(SIGPIPE, SIG_IGN); }

}  // namespace portico::core
