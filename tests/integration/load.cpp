// The background load: plain syscalls and deadlines, no Catch2.

#include "tests/integration/load.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

namespace portico::test {
namespace {

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

core::UniqueFd connect_to(uint16_t port, Clock::time_point deadline, int& err) {
    core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        err = errno;
        return {};
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    if (errno != EINPROGRESS) {
        err = errno;
        return {};
    }
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
        err = ETIMEDOUT;
        return {};
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
        err = so_error;
        return {};
    }
    return fd;
}

struct Exchange {
    bool ok = false;
    bool server_closes = false;  // the response said Connection: close
    int err = 0;
    std::string what;
};

Exchange failed(int err, std::string what) {
    return {false, false, err, std::move(what)};
}

bool send_all(int fd, std::string_view bytes, Clock::time_point deadline, int& err) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) {
            err = errno;
            return false;
        }
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
            err = ETIMEDOUT;
            return false;
        }
    }
    return true;
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// One request and its response, checked: 200, Content-Length, exactly `body`, nothing more.
Exchange exchange(int fd, std::string_view request, std::string_view body, Clock::time_point deadline) {
    int err = 0;
    if (!send_all(fd, request, deadline, err))
        return failed(err, std::string("send(): ") + std::strerror(err));
    std::string in;
    size_t head_end = std::string::npos, total = std::string::npos;
    bool close = false;
    while (total == std::string::npos || in.size() < total) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return failed(ETIMEDOUT,
                          "no whole response in time; got " + std::to_string(in.size()) + " bytes");
        char buf[16384];
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) {
            int e = errno;
            return failed(e, std::string("recv(): ") + std::strerror(e) + " after " +
                                 std::to_string(in.size()) + " bytes");
        }
        if (r == 0) return failed(0, "EOF after " + std::to_string(in.size()) + " bytes of the response");
        in.append(buf, static_cast<size_t>(r));
        if (head_end != std::string::npos || (head_end = in.find("\r\n\r\n")) == std::string::npos) continue;
        std::string head = lowercase(std::string_view(in).substr(0, head_end + 2));
        if (!head.starts_with("http/1.1 200 "))
            return failed(0, "status line: " + in.substr(0, in.find('\r')));
        size_t cl = head.find("\r\ncontent-length:");
        if (cl == std::string::npos) return failed(0, "no Content-Length");
        total = head_end + 4 + std::strtoull(head.c_str() + cl + 17, nullptr, 10);
        close = head.find("\r\nconnection: close\r\n") != std::string::npos;
    }
    if (in.size() != total) return failed(0, "bytes beyond the response");
    if (std::string_view(in).substr(head_end + 4) != body) return failed(0, "wrong body");
    return {true, close, 0, {}};
}

}  // namespace

Load::Load(uint16_t port, Mode mode, std::string target, std::string body, milliseconds pace)
    : port_(port), mode_(mode), request_(get(target)), body_(std::move(body)), pace_(pace) {
    thread_ = std::thread([this] { run(); });
}

Load::~Load() {
    stop();
}

void Load::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool Load::wait_for_successes(uint64_t n, milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return wake_.wait_for(lock, limit, [&] { return ok_.load() >= n || stopping_; }) && ok_.load() >= n;
}

bool Load::pause() {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, pace_, [&] { return stopping_; });
    return !stopping_;
}

void Load::fail(Clock::time_point start, std::string what, int err) {
    failures_.push_back({start, std::move(what), err == ECONNRESET, err == ECONNREFUSED});
}

size_t Load::resets() const {
    return static_cast<size_t>(
        std::count_if(failures_.begin(), failures_.end(), [](const Failure& f) { return f.reset; }));
}

std::string Load::report() const {
    std::ostringstream out;
    out << (mode_ == Mode::kKeepAlive ? "keep-alive" : "new-connection") << " load: " << ok_.load()
        << " succeeded, " << failures_.size() << " failed, on " << connections_ << " connections ("
        << server_closes_ << " closed by the server while idle)\n";
    for (const Failure& f : failures_) {
        auto ago = std::chrono::duration_cast<milliseconds>(Clock::now() - f.start).count();
        out << "  failed (started " << ago << " ms ago): " << f.what << "\n";
    }
    return out.str();
}

void Load::run() {
    core::UniqueFd fd;
    do {
        auto start = Clock::now();
        auto deadline = start + kWait;
        if (fd) {  // a keep-alive connection: did the server end it while it was idle?
            char c;
            ssize_t r = ::recv(fd.get(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r == 0) {
                ++server_closes_;
                fd.reset();
            } else if (r > 0 || errno != EAGAIN) {
                int e = r > 0 ? 0 : errno;
                fail(start,
                     r > 0 ? "bytes nobody asked for on an idle connection"
                           : std::string("an idle keep-alive connection failed: ") + std::strerror(e),
                     e);
                fd.reset();
                continue;
            }
        }
        if (!fd) {
            int err = 0;
            fd = connect_to(port_, deadline, err);
            if (!fd) {
                fail(start, std::string("connect(): ") + std::strerror(err), err);
                continue;
            }
            ++connections_;
        }
        Exchange x = exchange(fd.get(), request_, body_, deadline);
        if (!x.ok) {
            fail(start, x.what, x.err);
            fd.reset();
            continue;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++ok_;
        }
        wake_.notify_all();
        if (mode_ == Mode::kNewConnections || x.server_closes) fd.reset();
    } while (pause());
}

}  // namespace portico::test
