#include "master/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fd.hpp"

namespace portico::master {
namespace {

using Clock = std::chrono::steady_clock;

ControlAnswer failure(std::string text) {
    return {false, std::move(text)};
}

bool connect_to(int fd, const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return false;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// Reads until the master's newline or its close; false on timeout.
bool read_line(int fd, Clock::time_point deadline, std::string& line) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? false : true;
        char buf[512];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        line.append(buf, static_cast<size_t>(n));
        if (line.find('\n') != std::string::npos) return true;
    }
}

}  // namespace

ControlAnswer ask_master(const std::string& socket_path, const std::string& command,
                         std::chrono::seconds wait) {
    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return failure(std::string("socket() failed: ") + std::strerror(errno));
    if (!connect_to(fd.get(), socket_path))
        return failure("cannot reach the master at \"" + socket_path + "\": " + std::strerror(errno));
    std::string request = command + "\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
        return failure(std::string("sending to the master failed: ") + std::strerror(errno));
    std::string line;
    if (!read_line(fd.get(), Clock::now() + wait, line))
        return failure("no answer from the master within " + std::to_string(wait.count()) + " s (--wait)");
    size_t eol = line.find('\n');
    if (eol == std::string::npos)
        return failure("the master closed the control connection without an answer");
    line.resize(eol);
    if (line.starts_with("ok")) return {true, line.size() > 3 ? line.substr(3) : ""};
    if (line.starts_with("error ")) return failure(line.substr(6));
    return failure("unexpected answer from the master: " + line);
}

}  // namespace portico::master
