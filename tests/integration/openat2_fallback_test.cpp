// openat2 refused the way container seccomp profiles refuse it (EPERM, not ENOSYS): the worker
// probes at start-up, says so, and serves every file through its openat fallback, still never
// outside the root. The real binary runs under a real seccomp filter, installed in the child
// between fork and exec, so it sees the EPERM a container would give it.

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <string>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

#if defined(__x86_64__)
constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#else
constexpr unsigned kArch = 0;
#endif

// openat2 answers EPERM; every other call (and any other architecture's) is allowed.
sock_filter kDenyOpenat2[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/// portico under the filter, started on a free port; SIGKILLed if the test leaves early.
class FilteredServer {
public:
    explicit FilteredServer(const Site& site) {
        for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) start(site);
        REQUIRE(pid_ > 0);
    }
    ~FilteredServer() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] std::string log() const { return read_file(log_path_); }

    /// SIGQUIT, then the exit status (bounded wait on a pidfd).
    int stop() {
        REQUIRE(::kill(pid_, SIGQUIT) == 0);
        portico::core::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        REQUIRE(pidfd.valid());
        pollfd p{pidfd.get(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, static_cast<int>(kWait.count() * 2)) == 1);
        int st = 0;
        REQUIRE(::waitpid(pid_, &st, 0) == pid_);
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }

private:
    void start(const Site& site) {
        port_ = free_port();
        std::string conf = site.dir / "filtered.conf";
        log_path_ = site.dir / "error.log";
        ::unlink(log_path_.c_str());
        write_file(conf, expand(site_config(), port_, site.dir.path()));
        std::string out = site.dir / "filtered.out", binary = PORTICO_BINARY, dash_c = "-c";
        char* argv[] = {binary.data(), dash_c.data(), conf.data(), nullptr};
        sock_fprog prog{static_cast<unsigned short>(std::size(kDenyOpenat2)), kDenyOpenat2};
        pid_t parent = ::getpid();
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {  // only async-signal-safe calls from here to exec
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) ::_exit(127);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(126);
            if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) ::_exit(126);
            ::execv(argv[0], argv);
            ::_exit(127);
        }
        std::string ready = "started, pid " + std::to_string(pid);
        bool settled = wait_for_file(log_path_, [&](const std::string& text) {
            return text.find(ready) != std::string::npos || text.find("lready in use") != std::string::npos;
        });
        INFO(read_file(log_path_) << read_file(out));
        REQUIRE(settled);
        if (log().find(ready) != std::string::npos) {
            pid_ = pid;
            return;
        }
        ::kill(pid, SIGKILL);  // lost the port to someone else: try another
        ::waitpid(pid, nullptr, 0);
    }

    pid_t pid_ = -1;
    uint16_t port_ = 0;
    std::string log_path_;
};

Response fetch(Client& c, const std::string& target) {
    c.send_raw(get(target));
    return c.read_response();
}

}  // namespace

TEST_CASE("openat2 refused with EPERM: files are served through the openat fallback", "[openat2]") {
    if (kArch == 0) {  // Catch2 v2 has no SKIP
        WARN("no seccomp architecture constant for this machine: not tested");
        return;
    }
    Site site;
    FilteredServer server(site);
    CHECK(server.log().find("openat2() is unavailable (Operation not permitted)") != std::string::npos);
    Client c(server.port());
    Response r = fetch(c, "/small.txt");
    CHECK(r.status == 200);
    CHECK(r.body == site.small);
    CHECK(fetch(c, "/medium.bin").body == site.medium);  // sendfile from the fallback's descriptor
    CHECK(fetch(c, "/sub/").body == site.sub_index);
    CHECK(fetch(c, "/a%20b.txt").body == site.spaced);
    // Still never outside the root.
    CHECK(fetch(c, "/escape").status == 403);
    CHECK(fetch(c, "/escape-abs").status == 403);
    CHECK(fetch(c, "/nothing-here").status == 404);
    c.close();
    CHECK(server.stop() == 0);
    std::string log = server.log();
    INFO(log);
    CHECK(log.find("[error]") == std::string::npos);
}

TEST_CASE("where openat2 works, the worker says it uses it", "[openat2]") {
    SiteServer s;
    Client c(s.server.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().status == 200);
    c.close();
    s.server.stop_and_check();
    CHECK(read_file(s.server.error_log_path()).find("files are opened with openat2(RESOLVE_BENEATH)") !=
          std::string::npos);
}
