// systemd's readiness protocol against a real NOTIFY_SOCKET: a Unix datagram socket this test
// owns, the real binary under a master, a real reload and a real stop. Each datagram's sender is
// checked too (SCM_CREDENTIALS), because with NotifyAccess=main systemd ignores any other process.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace {

struct Datagram {
    pid_t sender = 0;
    std::string text;

    /// The datagram's lines ("KEY=value").
    [[nodiscard]] std::vector<std::string> lines() const {
        std::vector<std::string> out;
        for (size_t at = 0; at <= text.size();) {
            size_t end = std::min(text.find('\n', at), text.size());
            out.push_back(text.substr(at, end - at));
            at = end + 1;
        }
        return out;
    }
    [[nodiscard]] bool has(std::string_view line) const {
        auto all = lines();
        return std::find(all.begin(), all.end(), line) != all.end();
    }
    /// The value of "KEY=value", or "" if the datagram has no such line.
    [[nodiscard]] std::string value(std::string_view key) const {
        for (const std::string& l : lines())
            if (l.size() > key.size() && l.compare(0, key.size(), key) == 0 && l[key.size()] == '=')
                return l.substr(key.size() + 1);
        return "";
    }
};

uint64_t monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000;
}

/// What systemd would be: a bound datagram socket named by $NOTIFY_SOCKET for every process this
/// test starts while it lives.
class NotifySocket {
public:
    NotifySocket() : path_(dir_ / "notify.sock") {
        fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        REQUIRE(fd_);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path_.size() < sizeof addr.sun_path);
        path_.copy(addr.sun_path, path_.size());
        REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        int on = 1;
        REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
        REQUIRE(::setenv("NOTIFY_SOCKET", path_.c_str(), 1) == 0);
    }
    ~NotifySocket() { ::unsetenv("NOTIFY_SOCKET"); }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    /// The next datagram; fails the test if none comes within kWait.
    Datagram next() {
        pollfd p{fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(kWait.count()));
        INFO("no notification within " << kWait.count() << " ms; seen so far:\n" << seen_);
        REQUIRE(r == 1);
        char buf[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
        REQUIRE(n >= 0);
        Datagram d;
        d.text.assign(buf, static_cast<size_t>(n));
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS) continue;
            ucred cred{};
            std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
            d.sender = cred.pid;
        }
        seen_.append("[").append(std::to_string(d.sender)).append("] ").append(d.text).append("\n");
        return d;
    }
    /// Datagrams until one holds `line` (returned); every one before it must hold only STATUS=.
    Datagram until(std::string_view line) {
        for (;;) {
            Datagram d = next();
            if (d.has(line)) return d;
            INFO("unexpected notification before " << line << ": " << d.text);
            CHECK(d.text.rfind("STATUS=", 0) == 0);
            CHECK(d.text.find('\n') == std::string::npos);
        }
    }
    /// True if nothing arrives for `d` (used only to assert an absence).
    bool quiet_for(milliseconds d) {
        pollfd p{fd_.get(), POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(d.count())) == 0;
    }
    [[nodiscard]] const std::string& seen() const { return seen_; }

private:
    TempDir dir_;
    std::string path_;
    portico::core::UniqueFd fd_;
    std::string seen_;
};

}  // namespace

TEST_CASE("systemd: READY once the workers serve, RELOADING then READY on reload, STOPPING on stop",
          "[systemd][notify]") {
    NotifySocket notify;
    MasterSite m(MasterConfig::with("", 2));
    const pid_t master = m.master();

    Datagram ready = notify.until("READY=1");
    CHECK(ready.sender == master);
    CHECK(ready.value("STATUS") == "generation 1 serves with 2 of 2 workers ready");
    CHECK(ready.value("MAINPID") == std::to_string(master));
    Client c(m.port());
    c.send_raw(get("/"));
    CHECK(c.read_response().status == 200);

    const uint64_t before = monotonic_usec();
    m.config.workers = 3;
    m.reload(2);
    const uint64_t after = monotonic_usec();
    Datagram reloading = notify.until("RELOADING=1");
    CHECK(reloading.sender == master);
    // systemd discards a RELOADING=1 whose MONOTONIC_USEC is not the time of the reload.
    uint64_t usec = std::stoull(reloading.value("MONOTONIC_USEC"));
    CHECK(usec >= before);
    CHECK(usec <= after);
    Datagram reloaded = notify.until("READY=1");
    CHECK(reloaded.sender == master);
    CHECK(reloaded.value("STATUS") == "generation 2 serves with 3 of 3 workers ready");

    REQUIRE(m.server.stop(SIGQUIT) == 0);
    Datagram stopping = notify.until("STOPPING=1");
    CHECK(stopping.sender == master);
    CHECK(notify.quiet_for(milliseconds(100)));  // nothing after STOPPING=1
    INFO(notify.seen());
    CHECK(count(notify.seen(), "READY=1") == 2);
    m.server.check_logs();
}

TEST_CASE("systemd: a reload that fails still ends with READY=1, and STATUS says why", "[systemd][notify]") {
    NotifySocket notify;
    MasterSite m(MasterConfig::with("", 2));
    notify.until("READY=1");

    m.config.http_extra = "    bogus_setting = 1;";
    m.server.rewrite_config(m.config.text());
    REQUIRE(::kill(m.master(), SIGHUP) == 0);
    notify.until("RELOADING=1");
    Datagram ready = notify.until("READY=1");
    std::string status = ready.value("STATUS");
    CHECK(status.rfind("generation 1 serves with 2 of 2 workers ready; the last reload failed: ", 0) == 0);
    CHECK(status.find("bogus_setting") != std::string::npos);
    m.server.stop_and_check({"reload failed", "bogus_setting"});
}

TEST_CASE("systemd: without NOTIFY_SOCKET nothing is sent and nothing is logged about it",
          "[systemd][notify]") {
    REQUIRE(std::getenv("NOTIFY_SOCKET") == nullptr);
    MasterSite m(MasterConfig::with("", 1));
    CHECK(m.server.logs().find("service manager") == std::string::npos);
    m.server.stop_and_check();
}

TEST_CASE("systemd: a worker that dies and is replaced changes STATUS, never READY", "[systemd][notify]") {
    NotifySocket notify;
    MasterSite m(MasterConfig::with("", 2));
    notify.until("READY=1");
    const pid_t victim = m.workers.at(0);
    REQUIRE(::kill(victim, SIGKILL) == 0);
    // until() also checks that nothing but STATUS= lines comes in between.
    Datagram down = notify.until("STATUS=generation 1 serves with 1 of 2 workers ready");
    CHECK(down.sender == m.master());
    notify.until("STATUS=generation 1 serves with 2 of 2 workers ready");
    wait_successor(m.server, 0, 1, victim, kWait);
    m.server.stop_and_check({killed_line(victim, 0)});
    INFO(notify.seen());
    CHECK(count(notify.seen(), "READY=1") == 1);
}
