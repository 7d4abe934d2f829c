#include "master/control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

namespace portico::master {
namespace {

constexpr size_t kMaxCommand = 64;  // the longest command is a few letters

std::string failed(const char* call, const std::string& path) {
    return std::string(call) + " \"" + path + "\" failed: " + std::strerror(errno);
}

// The socket file is ours while it is the inode we bound: after a binary upgrade the new master
// has bound a socket of its own at the same path, and the old one must not remove it.
bool same_file(const std::string& path, ino_t ino, dev_t dev) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && st.st_ino == ino && st.st_dev == dev;
}

}  // namespace

std::string control_socket_path(const std::string& pid_file) {
    std::string base = pid_file;
    if (base.size() > 4 && base.ends_with(".pid")) base.resize(base.size() - 4);
    return base + ".sock";
}

ControlServer::ControlServer(std::string path, int epoll_fd) : path_(std::move(path)), epoll_(epoll_fd) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path)
        throw std::runtime_error("control socket path \"" + path_ + "\" is too long");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listen_) throw std::runtime_error(failed("socket()", path_));
    ::unlink(path_.c_str());     // a stale socket of a master that died
    mode_t old = ::umask(0077);  // only the master's user may ask for a reload
    int rc = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0) throw std::runtime_error(failed("bind()", path_));
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        bound_ino_ = st.st_ino;
        bound_dev_ = st.st_dev;
    }
    if (::listen(listen_.get(), 16) != 0) throw std::runtime_error(failed("listen()", path_));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTag;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, listen_.get(), &ev) != 0)
        throw std::runtime_error(failed("epoll_ctl()", path_));
}

ControlServer::~ControlServer() {
    close_listener();
    for (Client& c : clients_) ::close(c.fd);
}

ControlServer::ControlServer(ControlServer&& o) noexcept
    : path_(std::move(o.path_)),
      epoll_(o.epoll_),
      bound_ino_(o.bound_ino_),
      bound_dev_(o.bound_dev_),
      listen_(std::move(o.listen_)),
      clients_(std::move(o.clients_)) {
    o.clients_.clear();
}

ControlServer& ControlServer::operator=(ControlServer&& o) noexcept {
    if (this == &o) return *this;
    close_listener();
    for (Client& c : clients_) ::close(c.fd);
    path_ = std::move(o.path_);
    epoll_ = o.epoll_;
    bound_ino_ = o.bound_ino_;
    bound_dev_ = o.bound_dev_;
    listen_ = std::move(o.listen_);
    clients_ = std::move(o.clients_);
    o.clients_.clear();
    return *this;
}

void ControlServer::close_listener() noexcept {
    if (!listen_) return;
    if (same_file(path_, bound_ino_, bound_dev_)) ::unlink(path_.c_str());
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_.get(), nullptr);
    listen_.reset();
}

void ControlServer::close_in_child() noexcept {
    listen_.reset();
    for (Client& c : clients_) ::close(c.fd);
    clients_.clear();
}

void ControlServer::on_listen_ready() noexcept {
    for (;;) {
        int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN)
                spdlog::error("accept4() on the control socket failed: {}", std::strerror(errno));
            return;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = kClientTag | static_cast<uint64_t>(fd);
        if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
            spdlog::error("epoll_ctl() failed: {}", std::strerror(errno));
            ::close(fd);
            continue;
        }
        clients_.push_back({fd, {}});
    }
}

std::string ControlServer::on_client_ready(int fd) noexcept {
    Client* c = find(fd);
    if (!c) return {};
    char buf[kMaxCommand];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return {};
        if (n <= 0) {  // gone before it asked, or before it was answered
            drop(fd);
            return {};
        }
        c->line.append(buf, static_cast<size_t>(n));
        size_t eol = c->line.find('\n');
        if (eol != std::string::npos) {
            std::string command = c->line.substr(0, eol);
            c->line.clear();
            // Read no more: the only thing left to come is the client's close.
            ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
            return command.empty() ? std::string("?") : command;
        }
        if (c->line.size() > kMaxCommand) {
            reply(fd, false, "command too long");
            return {};
        }
    }
}

void ControlServer::reply(int fd, bool ok, std::string_view text) noexcept {
    if (!find(fd)) return;
    std::string line = (ok ? "ok " : "error ") + std::string(text) + "\n";
    // A few hundred bytes into an empty socket buffer: one send() takes it all, and a client
    // that left makes it fail harmlessly.
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EPIPE)
        spdlog::warn("answering a control client failed: {}", std::strerror(errno));
    drop(fd);
}

ControlServer::Client* ControlServer::find(int fd) noexcept {
    auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.fd == fd; });
    return it == clients_.end() ? nullptr : &*it;
}

void ControlServer::drop(int fd) noexcept {
    auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.fd == fd; });
    if (it == clients_.end()) return;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    clients_.erase(it);
}

}  // namespace portico::master
