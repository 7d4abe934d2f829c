#include "master/upgrade.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "core/log.hpp"

extern char** environ;

namespace portico::master {
namespace {

constexpr const char* kListenersVar = "PORTICO_LISTENERS";
constexpr const char* kChannelVar = "PORTICO_UPGRADE_CHANNEL";
constexpr const char* kGenerationVar = "PORTICO_UPGRADE_GENERATION";
constexpr const char* kTicketsVar = "PORTICO_UPGRADE_TICKETS";

int parse_fd(const std::string& text) {
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 0 || v > INT_MAX)
        throw std::runtime_error("bad descriptor \"" + text + "\" in the upgrade environment");
    return static_cast<int>(v);
}

// "127.0.0.1:8080 0 5;[::1]:8080 1 6"
std::vector<HandedSocket> parse_sockets(const char* text) {
    std::vector<HandedSocket> out;
    std::stringstream all(text);
    for (std::string item; std::getline(all, item, ';');) {
        if (item.empty()) continue;
        std::istringstream one(item);
        HandedSocket s;
        std::string fd;
        if (!(one >> s.address >> s.slot >> fd))
            throw std::runtime_error("bad listener \"" + item + "\" in " + kListenersVar);
        s.fd = parse_fd(fd);
        ::fcntl(s.fd, F_SETFD, FD_CLOEXEC);  // ours now; the workers get theirs by fork
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

Inheritance take_inheritance() {
    Inheritance in;
    const char* channel = std::getenv(kChannelVar);
    if (!channel) return in;
    in.channel.reset(parse_fd(channel));
    ::fcntl(in.channel.get(), F_SETFD, FD_CLOEXEC);
    if (const char* g = std::getenv(kGenerationVar))
        in.last_generation = static_cast<uint32_t>(std::strtoul(g, nullptr, 10));
    if (const char* l = std::getenv(kListenersVar)) in.sockets = parse_sockets(l);
    if (const char* t = std::getenv(kTicketsVar)) {
        in.tickets.reset(parse_fd(t));
        ::fcntl(in.tickets.get(), F_SETFD, FD_CLOEXEC);
    }
    ::unsetenv(kChannelVar);
    ::unsetenv(kGenerationVar);
    ::unsetenv(kTicketsVar);
    ::unsetenv(kListenersVar);
    return in;
}

std::string own_binary_path() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    return std::string(buf, static_cast<size_t>(n));
}

pid_t start_successor(const std::string& binary, const std::vector<std::string>& argv,
                      const std::vector<HandedSocket>& sockets, int channel, int tickets,
                      uint32_t last_generation) {
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::string listeners = std::string(kListenersVar) + "=";
    for (const HandedSocket& s : sockets)
        listeners += s.address + " " + std::to_string(s.slot) + " " + std::to_string(s.fd) + ";";
    std::vector<std::string> vars{listeners, std::string(kChannelVar) + "=" + std::to_string(channel),
                                  std::string(kGenerationVar) + "=" + std::to_string(last_generation)};
    if (tickets >= 0) vars.push_back(std::string(kTicketsVar) + "=" + std::to_string(tickets));
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "PORTICO_LISTENERS=", 18) != 0 && std::strncmp(*e, "PORTICO_UPGRADE_", 16) != 0)
            envp.push_back(*e);
    for (std::string& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    core::flush_error_log();
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    for (const HandedSocket& s : sockets) ::fcntl(s.fd, F_SETFD, 0);
    ::fcntl(channel, F_SETFD, 0);
    if (tickets >= 0) ::fcntl(tickets, F_SETFD, 0);
    ::execve(binary.c_str(), args.data(), envp.data());
    // The old master reads this as the new master's answer.
    const char* why = std::strerror(errno);
    const char prefix[] = "error execve() of ";
    (void)!::write(channel, prefix, sizeof prefix - 1);
    (void)!::write(channel, binary.c_str(), binary.size());
    (void)!::write(channel, " failed: ", 9);
    (void)!::write(channel, why, std::strlen(why));
    (void)!::write(channel, "\n", 1);
    _exit(127);
}

}  // namespace portico::master
