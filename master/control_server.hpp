#pragma once
// The master's control socket: how `portico -s reload` and `-s upgrade` learn the outcome of
// what they asked for, which a signal cannot tell them.
//
// A Unix stream socket beside the pid file (control_socket_path()), mode 0600, owned by the
// master. A client connects, sends one command line ("reload\n", "upgrade\n") and waits; the
// master answers once the outcome is known, with one line, "ok TEXT\n" or "error TEXT\n", and
// closes. The master keeps no state for a client beyond its descriptor, so a client that gives
// up (its --wait ran out) costs nothing. Plain signals keep working without it.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace portico::master {

/// "/run/portico.pid" -> "/run/portico.sock": the control socket that goes with a pid file.
[[nodiscard]] std::string control_socket_path(const std::string& pid_file);

class ControlServer {
public:
    /// epoll data of the listening socket; a client's is kClientTag | fd.
    static constexpr uint64_t kListenTag = 1ull << 62;
    static constexpr uint64_t kClientTag = 1ull << 61;

    ControlServer() = default;
    /// Listens on `path`, replacing whatever socket file is there (the caller holds the pid file,
    /// so no other master uses it), and registers with `epoll_fd`. Throws std::runtime_error.
    ControlServer(std::string path, int epoll_fd);
    ~ControlServer();
    ControlServer(ControlServer&&) noexcept;
    ControlServer& operator=(ControlServer&&) noexcept;
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    [[nodiscard]] bool active() const noexcept { return listen_.valid(); }
    /// Accepts every pending client and registers it for reading.
    void on_listen_ready() noexcept;
    /// Reads from client `fd`; returns its command once a whole line arrived, "" until then (or
    /// when the client left, in which case it is closed).
    std::string on_client_ready(int fd) noexcept;
    /// Answers client `fd` with one line and closes it.
    void reply(int fd, bool ok, std::string_view text) noexcept;
    /// Closes the listening socket (and its path, if the path is still ours); clients stay.
    void close_listener() noexcept;
    /// In a forked worker: close every descriptor, remove nothing.
    void close_in_child() noexcept;

private:
    struct Client {
        int fd;
        std::string line;
    };
    Client* find(int fd) noexcept;
    void drop(int fd) noexcept;

    std::string path_;
    int epoll_ = -1;
    ino_t bound_ino_ = 0;  // the socket file we bound, to tell it from a successor's
    dev_t bound_dev_ = 0;
    core::UniqueFd listen_;
    std::vector<Client> clients_;
};

}  // namespace portico::master
