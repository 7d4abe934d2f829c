#include "test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace portico::bench::test {
namespace {

const std::string kOkHead =
    "HTTP/1.1 200 OK\r\nServer: test\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n";
const std::string kOkBody = "hello, world\n";

void send_all(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 1000) <= 0) return;  // a client that stopped reading: give up
        } else {
            return;
        }
    }
}

uint64_t content_length(const std::string& head) {
    const auto at = head.find("Content-Length: ");
    return at == std::string::npos ? 0 : std::strtoull(head.c_str() + at + 16, nullptr, 10);
}

}  // namespace

struct TestServer::Conn {
    int fd = -1;
    std::string in;
    uint64_t body_left = 0;
    uint64_t held = 0;  // kSlowStart: answers owed
};

std::string TestServer::ok_response() { return kOkHead + "\r\n" + kOkBody; }

std::string TestServer::chunked_response() {
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5;name=value\r\nhello\r\n"
           "7\r\n, world\r\n"
           "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
           "0\r\nX-Trailer: yes\r\n\r\n";
}

TestServer::TestServer(Behaviour behaviour) : behaviour_(behaviour) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 512) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::runtime_error("test server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

TestServer::~TestServer() {
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
}

std::string TestServer::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void TestServer::serve() {
    std::vector<std::unique_ptr<Conn>> conns;
    std::vector<pollfd> fds;
    for (;;) {
        fds.assign({pollfd{wake_[0], POLLIN, 0}, pollfd{listen_fd_, POLLIN, 0}});
        for (const auto& c : conns) fds.push_back(pollfd{c->fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), poll_timeout_ms()) < 0 && errno != EINTR) break;
        if (fds[0].revents != 0) break;
        release_held(conns);
        for (size_t i = 0; i < conns.size(); ++i) {
            if (fds[i + 2].revents != 0 && !on_readable(*conns[i])) {
                ::close(conns[i]->fd);
                conns[i]->fd = -1;
            }
        }
        std::erase_if(conns, [](const auto& c) { return c->fd < 0; });
        if (fds[1].revents == 0) continue;
        for (int fd; (fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
            ++connections_;
            if (behaviour_ == Behaviour::kReset) {
                const linger abort{1, 0};
                ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
                ::close(fd);
                continue;
            }
            conns.push_back(std::make_unique<Conn>());
            conns.back()->fd = fd;
        }
    }
    for (const auto& c : conns) ::close(c->fd);
}

int TestServer::poll_timeout_ms() const {
    if (behaviour_ != Behaviour::kSlowStart || released_ ||
        release_at_ == std::chrono::steady_clock::time_point{}) {
        return -1;
    }
    const auto left = release_at_ - std::chrono::steady_clock::now();
    return std::max(0, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count()));
}

void TestServer::release_held(std::vector<std::unique_ptr<Conn>>& conns) {
    if (poll_timeout_ms() != 0) return;
    released_ = true;
    for (auto& c : conns) {
        for (; c->held > 0; --c->held) send_all(c->fd, ok_response());
    }
}

bool TestServer::on_readable(Conn& conn) {
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(conn.fd, buffer, sizeof(buffer));
        if (n > 0) conn.in.append(buffer, static_cast<size_t>(n));
        else if (n == 0) return false;
        else if (errno == EAGAIN) break;
        else if (errno != EINTR) return false;
    }
    uint64_t batch = 0;
    for (;;) {
        if (conn.body_left > 0) {
            const uint64_t take = std::min<uint64_t>(conn.body_left, conn.in.size());
            conn.in.erase(0, take);
            conn.body_left -= take;
            body_bytes_ += take;
            if (conn.body_left > 0) break;
        }
        const auto end = conn.in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        const std::string head = conn.in.substr(0, end + 4);
        conn.in.erase(0, end + 4);
        conn.body_left = content_length(head);
        ++requests_;
        ++batch;
        if (!answer(conn, head)) return false;
    }
    if (batch > max_batch_) max_batch_ = batch;
    return true;
}

bool TestServer::answer(Conn& conn, const std::string& head) {
    switch (behaviour_) {
        case Behaviour::kOk: {
            const bool close = head.find("Connection: close") != std::string::npos;
            const bool head_only = head.rfind("HEAD ", 0) == 0;
            send_all(conn.fd,
                     kOkHead + (close ? "Connection: close\r\n" : "") + "\r\n" + (head_only ? "" : kOkBody));
            return !close;
        }
        case Behaviour::kStall: return true;
        case Behaviour::kGarbage: send_all(conn.fd, "this is not HTTP at all\r\n\r\n"); return true;
        case Behaviour::kShortBody:
            send_all(conn.fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
            return false;
        case Behaviour::kBadStatus:
            send_all(conn.fd, requests_ % 2 == 1 ? "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n"
                                                 : "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
            return true;
        case Behaviour::kChunked: send_all(conn.fd, chunked_response()); return true;
        case Behaviour::kSlowStart:
            if (released_) {
                send_all(conn.fd, ok_response());
            } else {
                if (release_at_ == std::chrono::steady_clock::time_point{}) {
                    release_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
                }
                ++conn.held;
            }
            return true;
        case Behaviour::kReset: return false;
    }
    return false;
}

}  // namespace portico::bench::test
