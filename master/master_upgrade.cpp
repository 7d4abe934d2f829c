// Master: the binary upgrade (see upgrade.hpp), from both sides.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "master/master.hpp"

namespace portico::master {

// As the old master: start the new one on our listeners. A client (-s upgrade) is answered once
// the new master serves and our workers no longer accept, or with the reason it did not.
void Master::start_upgrade(int client) {
    auto refuse = [&](const std::string& why) {
        spdlog::error("upgrade refused: {}", why);
        if (client >= 0) control_.reply(client, false, why);
    };
    if (stopping_) return refuse("the master is stopping");
    if (successor_) {  // one upgrade at a time: this client waits for the one under way
        if (client >= 0) upgrade_waiters_.push_back(client);
        return;
    }
    if (pending_) return refuse("a reload is in progress; upgrade once it is done");
    if (inherited_.upgrading()) return refuse("this master has not yet taken over from the previous one");
    if (binary_.empty()) return refuse("the path of the running binary is unknown");
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return refuse(fmt::format("socketpair() failed: {}", std::strerror(errno)));
    core::UniqueFd ours(sv[0]), theirs(sv[1]);
    std::vector<HandedSocket> sockets;
    for (const Group& g : groups_) {
        if (!g.active) continue;
        for (uint32_t slot = 0; slot < g.sockets.size(); ++slot)
            if (g.sockets[slot]) sockets.push_back({g.address.to_string(), slot, g.sockets[slot].get()});
    }
    // The keys go in a memfd that lives until both masters have closed it (the new one, once it
    // has read them). Without it the upgrade still works, and tickets issued before it do not
    // resume after it (a full handshake instead).
    core::UniqueFd tickets(tickets_->export_keys());
    if (!tickets)
        spdlog::warn("upgrade: cannot hand over the session-ticket keys ({}); the new master starts with new ones",
                     std::strerror(errno));
    pid_t pid = start_successor(binary_, argv_, sockets, theirs.get(), tickets ? tickets.get() : -1,
                                last_generation_);
    if (pid < 0) return refuse(fmt::format("fork() failed: {}", std::strerror(errno)));
    successor_ = pid;
    successor_channel_ = std::move(ours);
    successor_line_.clear();
    upgrade_deadline_ = now_ + kUpgradeTimeoutMs;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kUpgradeTag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, successor_channel_.get(), &ev) != 0)
        spdlog::error("epoll_ctl() failed: {}", std::strerror(errno));
    if (client >= 0) upgrade_waiters_.push_back(client);
    spdlog::info("upgrade: started new master process {} ({}) with {} listeners", pid, binary_,
                 sockets.size());
}

// The new master writes one line: "ready PID" once its workers serve, or "error REASON".
void Master::on_successor_channel() {
    char buf[512];
    for (;;) {
        ssize_t n = ::recv(successor_channel_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {  // it closed without a word: its exit (SIGCHLD) tells why
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, successor_channel_.get(), nullptr);
            successor_channel_.reset();
            return;
        }
        successor_line_.append(buf, static_cast<size_t>(n));
        size_t eol = successor_line_.find('\n');
        if (eol == std::string::npos) continue;
        std::string line = successor_line_.substr(0, eol);
        if (line.starts_with("ready ")) return hand_over(successor_);
        return upgrade_failed(line.starts_with("error ") ? line.substr(6) : "unexpected answer: " + line);
    }
}

void Master::upgrade_failed(const std::string& why) {
    spdlog::error("upgrade failed: {}; master process {} keeps serving", why, self_pid_);
    answer(upgrade_waiters_, false, fmt::format("{}; the old master (pid {}) keeps serving", why, self_pid_));
    if (successor_channel_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, successor_channel_.get(), nullptr);
    successor_channel_.reset();
    successor_ = 0;
}

void Master::check_upgrade_deadline() {
    if (!successor_ || now_ < upgrade_deadline_) return;
    pid_t late = successor_;
    // Its workers may be accepting already: a graceful stop lets them finish what they took.
    ::kill(late, SIGQUIT);
    upgrade_failed(
        fmt::format("the new master process {} did not serve within {} s", late, kUpgradeTimeoutMs / 1000));
}

// The new master serves on the same sockets: our workers stop accepting (taking what is queued)
// and drain, and this master exits after them. It neither removes the pid file nor the control
// socket, which are the new master's now (PidFile and ControlServer check the inode).
void Master::hand_over(pid_t successor) {
    spdlog::info("upgrade: new master process {} serves; master process {} retires generation {}", successor,
                 self_pid_, generation_);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, successor_channel_.get(), nullptr);
    successor_channel_.reset();
    successor_ = 0;  // no longer ours to watch: its exit from now on is not a failed upgrade
    std::vector<int> waiters = std::move(upgrade_waiters_);
    upgrade_waiters_.clear();
    notifier_.hand_over();  // our drain is not the service stopping
    begin_stop(true);
    handover_waiters_ = std::move(waiters);
}

// As the new master: our workers serve. Take the pid file and the control socket, then tell the
// old master, which retires its workers once it reads this.
void Master::take_over() {
    if (!config_->pid_file.empty()) {
        try {
            pid_file_ = PidFile(config_->pid_file, true);
            control_ = ControlServer(control_socket_path(config_->pid_file), epoll_.get());
        } catch (const std::exception& e) {
            spdlog::error("taking over from the old master: {}", e.what());
        }
    }
    std::string line = fmt::format("ready {}\n", self_pid_);
    if (::send(inherited_.channel.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(line.size()))
        spdlog::error("telling the old master that we serve failed: {}", std::strerror(errno));
    inherited_.channel.reset();
    spdlog::info("upgrade: master process {} took over with generation {}", self_pid_, generation_);
}

// As the new master: a worker died before all of them served. The old master serves on, so
// rather than crash-loop beside it, say why and stop (gracefully: the others may have taken
// connections from the shared queues).
void Master::give_up_upgrade(const std::string& why) {
    spdlog::error("upgrade failed: {}; master process {} stops", why, self_pid_);
    std::string line = "error " + why + "\n";
    (void)!::send(inherited_.channel.get(), line.data(), line.size(), MSG_NOSIGNAL);
    inherited_.channel.reset();
    begin_stop(true);
}

}  // namespace portico::master
