#include "portico_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace portico::bench::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStartLimit = std::chrono::seconds(10);
constexpr int kPortAttempts = 5;
constexpr int kStopLimitMs = 10'000;

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A port nothing listened on a moment ago; start() retries if someone takes it meanwhile.
uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<long long>(0, left));
}

}  // namespace

PorticoProcess::PorticoProcess(const std::string& binary, const std::string& http_settings)
    : http_settings_(http_settings) {
    char templ[] = "/tmp/portico-bench-test-XXXXXX";
    if (::mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp() failed");
    dir_ = templ;
    std::filesystem::create_directory(dir_ + "/www");
    write_text(dir_ + "/www/index.html", std::string(kIndexBytes, 'i'));
    write_text(dir_ + "/www/big.bin", std::string(kBigBytes, 'b'));
    write_text(dir_ + "/www/large.bin", std::string(kLargeBytes, 'l'));
    for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
        if (start(binary)) return;
    }
    const std::string out = logs();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("portico did not start:\n" + out);
}

PorticoProcess::~PorticoProcess() {
    if (pid_ > 0) stop();
    std::filesystem::remove_all(dir_);
}

std::string PorticoProcess::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string PorticoProcess::logs() const {
    return read_text(dir_ + "/error.log") + read_text(dir_ + "/portico.out");
}

bool PorticoProcess::start(const std::string& binary) {
    port_ = free_port();
    write_text(dir_ + "/portico.conf",
               "worker_processes = 1;\nmaster_process = false;\nerror_log = \"" + dir_ +
                   "/error.log\";\n"
                   "log_level = \"info\";\nhttp = { access_log = \"off\"; " + http_settings_ + " };\n"
                   "servers = ( { listen = [\"127.0.0.1:" +
                   std::to_string(port_) + "\"]; root = \"" + dir_ + "/www\"; } );\n");
    ::unlink((dir_ + "/error.log").c_str());
    // Watch before spawning, so that no write to the log goes unnoticed.
    const int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ::inotify_add_watch(watch, dir_.c_str(), IN_CREATE | IN_MODIFY);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (dir_ + "/portico.out").c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<std::string> args{binary, "-c", dir_ + "/portico.conf"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        ::close(watch);
        throw std::runtime_error("cannot run " + binary);
    }
    // Readable when the process exits: a wait with no polling interval.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    const std::string ready = "started, pid " + std::to_string(pid_);
    const auto deadline = Clock::now() + kStartLimit;
    bool ok = false;
    while (Clock::now() < deadline) {
        if (read_text(dir_ + "/error.log").find(ready) != std::string::npos) {
            ok = true;
            break;
        }
        pollfd p[2] = {{watch, POLLIN, 0}, {pidfd_, POLLIN, 0}};
        ::poll(p, 2, remaining_ms(deadline));
        if (p[1].revents != 0) break;
        char drain[4096];
        while (::read(watch, drain, sizeof(drain)) > 0) {
        }
    }
    ::close(watch);
    if (ok) return true;
    if (pid_ > 0) stop();
    if (logs().find("Address already in use") != std::string::npos) return false;
    throw std::runtime_error("portico did not log '" + ready + "':\n" + logs());
}

int PorticoProcess::stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGQUIT);
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, kStopLimitMs) <= 0) ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(pidfd_);
    pid_ = -1;
    pidfd_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace portico::bench::test
