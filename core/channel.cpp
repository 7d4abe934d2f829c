#include "core/channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace portico::core {

bool make_channel(UniqueFd& master_end, UniqueFd& worker_end) noexcept {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) return false;
    master_end.reset(sv[0]);
    worker_end.reset(sv[1]);
    return true;
}

bool send_message(int channel, const ChannelMessage& msg, int fd) noexcept {
    iovec iov{const_cast<ChannelMessage*>(&msg), sizeof msg};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd >= 0) {
        mh.msg_control = control;
        mh.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    for (;;) {
        ssize_t n = ::sendmsg(channel, &mh, MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(sizeof msg)) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

int receive_message(int channel, ChannelMessage& msg, UniqueFd& fd) noexcept {
    iovec iov{&msg, sizeof msg};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    fd.reset();
    ssize_t n;
    do n = ::recvmsg(channel, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n == 0) return 0;
    if (n < 0) return -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int received;
            std::memcpy(&received, CMSG_DATA(c), sizeof received);
            fd.reset(received);
        }
    }
    if (n != static_cast<ssize_t>(sizeof msg)) {
        errno = EPROTO;
        return -1;
    }
    return 1;
}

}  // namespace portico::core
