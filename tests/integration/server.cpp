// Starting, watching and stopping a real portico process.

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

namespace portico::test {
namespace {

constexpr milliseconds kStartLimit{10000};
constexpr int kStartAttempts = 5;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

core::UniqueFd open_pidfd(pid_t pid) {
    return core::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

/// Watches a directory so a test can wait for a log file to change instead of sleeping.
core::UniqueFd watch_dir(const std::string& dir) {
    core::UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    REQUIRE(fd.valid());
    REQUIRE(::inotify_add_watch(fd.get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO |
                                                           IN_MOVED_FROM | IN_DELETE) >= 0);
    return fd;
}

void drain(int fd) {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

/// Waits until `fd` is readable or `deadline` passes; true if readable.
bool readable_before(int fd, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return false;
    }
}

int decode_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

/// fork + exec of the portico binary with stdin from /dev/null and stdout/stderr into files.
/// Everything the child needs is prepared before fork(); the child only calls async-signal-safe
/// functions. PR_SET_PDEATHSIG makes a crashing test run take its servers with it.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path) {
    std::vector<char*> argv;
    static std::string binary = PORTICO_BINARY;
    argv.push_back(binary.data());
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        int in = ::open("/dev/null", O_RDONLY);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = out_path == err_path ? out : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) ::_exit(127);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

}  // namespace

Server::Server(const TempDir& dir, std::string config_template) : dir_(dir.path()) {
    config_path_ = dir_ + "/portico.conf";
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        port_ = free_port();
        if (start(expand(config_template, port_, dir_))) return;
        // Lost the race for the port to someone else: try another one.
    }
    FAIL("portico could not bind a free port in " << kStartAttempts << " attempts:\n" << logs());
}

Server::~Server() {
    if (!running()) return;
    // No assertions here: a destructor runs during unwinding too. A server that died on its own
    // is the likely cause of whatever failed, so its logs (a sanitizer report, say) go to stderr.
    // Tests stop their server themselves, so this path is rare and may afford a short look.
    bool died = readable_before(pidfd_.get(), Clock::now() + milliseconds(200));
    if (!died) {
        ::kill(pid_, SIGTERM);
        if (!readable_before(pidfd_.get(), Clock::now() + kWait)) ::kill(pid_, SIGKILL);
    }
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    if (died) {
        std::fprintf(stderr, "portico died during the test (status %d):\n%s\n", decode_status(st),
                     logs().c_str());
    }
}

// Returns false only when the server exited because its port was taken.
bool Server::start(const std::string& config_text) {
    write_file(config_path_, config_text);
    ::unlink(error_log_path().c_str());
    ::unlink(access_log_path().c_str());
    core::UniqueFd watch = watch_dir(dir_);  // before the spawn, so no write goes unnoticed
    pid_ = spawn({"-c", config_path_}, output_path(), output_path());
    pidfd_ = open_pidfd(pid_);
    REQUIRE(pidfd_.valid());
    std::string ready = "started, pid " + std::to_string(pid_);
    auto deadline = Clock::now() + kStartLimit;
    for (;;) {
        if (read_file(error_log_path()).find(ready) != std::string::npos) return true;
        pollfd p[2] = {{watch.get(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}};
        int n = ::poll(p, 2, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (p[1].revents & POLLIN) {
            int status = reap(kWait, true);
            std::string out = logs();
            // "bind() ... failed: Address already in use" from a lone worker, "address ... is already
            // in use" from a master's probe.
            if (out.find("lready in use") != std::string::npos) return false;
            FAIL("portico exited with status " << status << " before it was ready:\n" << out);
        }
        if (n == 0) {
            std::string out = logs();
            ::kill(pid_, SIGKILL);
            reap(kWait, false);
            FAIL("portico did not log '" << ready << "' within " << kStartLimit.count() << " ms:\n" << out);
        }
        drain(watch.get());
    }
}

std::string Server::logs() const {
    return "--- error.log ---\n" + read_file(error_log_path()) +  //
           "--- stdout+stderr ---\n" + read_file(output_path());
}

int Server::reap(milliseconds limit, bool fail_on_timeout) {
    bool exited = readable_before(pidfd_.get(), Clock::now() + limit);
    if (!exited) ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    pidfd_.reset();
    if (!exited && fail_on_timeout)
        FAIL("portico did not exit within " << limit.count() << " ms; killed it\n" << logs());
    return decode_status(st);
}

int Server::stop(int sig, milliseconds limit) {
    REQUIRE(running());
    REQUIRE(::kill(pid_, sig) == 0);
    return reap(limit, true);
}

int Server::wait_exit(milliseconds limit) {
    REQUIRE(running());
    return reap(limit, true);
}

bool Server::alive_after(milliseconds d) const {
    return running() && !readable_before(pidfd_.get(), Clock::now() + d);
}

bool Server::wait_for_log(std::string_view text, milliseconds limit) const {
    return wait_for_file(
        error_log_path(), [&](const std::string& log) { return log.find(text) != std::string::npos; }, limit);
}

bool Server::wait_for_log_until(const std::function<bool(const std::string&)>& done, milliseconds limit) const {
    return wait_for_file(error_log_path(), done, limit);
}

void Server::rewrite_config(std::string_view config_template) const {
    replace_file(config_path_, expand(config_template, port_, dir_));
}

bool wait_for_file(const std::string& path, const std::function<bool(const std::string&)>& done,
                   milliseconds limit) {
    std::string dir = path.substr(0, path.find_last_of('/'));
    core::UniqueFd watch = watch_dir(dir.empty() ? "/" : dir);  // first, so no change goes unseen
    auto deadline = Clock::now() + limit;
    for (;;) {
        if (done(read_file(path))) return true;
        if (!readable_before(watch.get(), deadline)) return done(read_file(path));
        drain(watch.get());
    }
}

void Server::check_logs(const std::vector<std::string>& allowed) const {
    static const char* const kBad[] = {"[error]", "[critical]", "AddressSanitizer", "LeakSanitizer",
                                       "runtime error:"};
    std::istringstream all(read_file(error_log_path()) + "\n" + read_file(output_path()));
    std::string line, bad;
    while (std::getline(all, line)) {
        bool suspicious = false;
        for (const char* b : kBad) suspicious = suspicious || line.find(b) != std::string::npos;
        for (const std::string& a : allowed) suspicious = suspicious && line.find(a) == std::string::npos;
        if (suspicious) bad += line + "\n";
    }
    INFO(logs());
    CHECK(bad == "");
}

void Server::stop_and_check(const std::vector<std::string>& allowed) {
    CHECK(stop(SIGQUIT) == 0);
    check_logs(allowed);
}

RunResult run_portico(const std::vector<std::string>& args, const TempDir& dir) {
    static int counter = 0;
    std::string base = dir / ("run" + std::to_string(++counter));
    pid_t pid = spawn(args, base + ".out", base + ".err");
    core::UniqueFd pidfd = open_pidfd(pid);
    REQUIRE(pidfd.valid());
    bool exited = readable_before(pidfd.get(), Clock::now() + kWait * 2);
    if (!exited) ::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    REQUIRE(exited);
    return {decode_status(st), read_file(base + ".out"), read_file(base + ".err")};
}

}  // namespace portico::test
