#pragma once
// What the integration tests share: a scratch directory, a fixture web site, a real portico
// process started from its own config on a free port, and a raw-bytes HTTP client.
//
// Every wait here has a deadline, and nothing synchronises by sleeping: the client polls its
// socket, the server wrapper polls a pidfd (exit) and an inotify descriptor (log lines). A wait
// that runs out fails the test with what was seen so far, so a hung server cannot hang the suite.
// The only fixed waits (Client::quiet_for) assert that something does *not* happen, or pace a
// retry loop (pace_retry). master_harness.hpp adds what the tests of a master and its workers need.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace portico::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How long any single wait (a response, a log line, an exit) may take before the test fails.
/// Generous, because the suite also runs under sanitizers on busy machines.
inline constexpr milliseconds kWait{5000};

/// A short fixed pause (20 ms) between two tries of a bounded retry loop that polls a state no
/// event announces (a counter, a /proc field). Never a substitute for waiting on an event.
void pace_retry();

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// The absolute path of `name` inside this directory.
    [[nodiscard]] std::string operator/(std::string_view name) const;

private:
    std::string path_;
};

void write_file(const std::string& path, std::string_view bytes);
[[nodiscard]] std::string read_file(const std::string& path);
/// Replaces a file's content atomically (write a temporary, then rename over it).
void replace_file(const std::string& path, std::string_view bytes);
/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
[[nodiscard]] std::string http_date(time_t t);
/// The file's modification time in whole seconds.
[[nodiscard]] time_t mtime_of(const std::string& path);
/// `n` bytes of a deterministic pattern that differs with `seed`; no two nearby offsets look alike,
/// so a shifted or repeated chunk shows up as a mismatch.
[[nodiscard]] std::string pattern(size_t n, uint32_t seed);

/// Waits (bounded, on inotify events of the file's directory) until `done` holds for the file's
/// whole content (empty while the file does not exist); false if it never did within `limit`.
bool wait_for_file(const std::string& path, const std::function<bool(const std::string&)>& done,
                   milliseconds limit = kWait);

/// A TCP port on 127.0.0.1 that nothing listened on a moment ago. The server may still lose a
/// race for it; Server retries with another port when bind() fails.
[[nodiscard]] uint16_t free_port();

/// The document roots every test serves, with their exact bytes kept for comparison.
///
///   dir/secret.txt                   outside every root: must never be served
///   dir/www/index.html, small.txt (612 B), medium.bin (100 KiB), large.bin (2 MiB), "a b.txt"
///   dir/www/sub/index.html, dir/www/empty/ (no index)
///   dir/www/escape -> ../secret.txt, dir/www/escape-abs -> /abs/dir/secret.txt
///   dir/www-b/index.html             the root of virtual host b.test
struct Site {
    Site();

    TempDir dir;
    std::string www, www_b;
    std::string index_html, small, medium, large, spaced, sub_index, b_index, secret;
};

/// `text` with every "@PORT@" replaced by `port` and every "@DIR@" by `dir`.
[[nodiscard]] std::string expand(std::string_view text, uint16_t port, std::string_view dir);

/// A config template for Site: servers a.test (default, root www) and b.test (root www-b) on one
/// address, logs in the site's directory. `http_extra` goes inside the http group, `top_extra`
/// at the top level.
[[nodiscard]] std::string site_config(std::string_view http_extra = {}, std::string_view top_extra = {});

/// One portico process, started from a config template (see expand()) and stopped on destruction.
/// Under a master (master_process = true) it is the master: "started" is logged before any worker
/// is ready (wait_ready() in master_harness.hpp waits for them).
class Server {
public:
    /// Writes the config into `dir`, starts portico, and returns once it logged that it started.
    /// Fails the test (with the process output) if it exits instead or does not start in time.
    Server(const TempDir& dir, std::string config_template);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] uint16_t port() const noexcept { return port_; }
    [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
    [[nodiscard]] std::string error_log_path() const { return dir_ + "/error.log"; }
    [[nodiscard]] std::string access_log_path() const { return dir_ + "/access.log"; }
    [[nodiscard]] std::string output_path() const { return dir_ + "/portico.out"; }
    [[nodiscard]] const std::string& config_path() const noexcept { return config_path_; }
    /// Replaces the config file (for a reload) with `config_template` expanded for this server's
    /// port and directory.
    void rewrite_config(std::string_view config_template) const;
    /// The error log followed by what the process wrote to stdout and stderr.
    [[nodiscard]] std::string logs() const;

    /// Sends `sig` to this server and reaps it. Returns the exit status, or 128 + signal if it was
    /// killed. Fails the test (after a SIGKILL) if it has not exited within `limit`.
    int stop(int sig = SIGQUIT, milliseconds limit = kWait * 2);
    /// Waits until the process exits on its own; the same result and failure as stop().
    int wait_exit(milliseconds limit);
    /// True if the process is still alive after `d` (it is not reaped if it exited).
    [[nodiscard]] bool alive_after(milliseconds d) const;
    /// Waits (bounded) until the error log contains `text`; false if it never did.
    bool wait_for_log(std::string_view text, milliseconds limit = kWait) const;
    /// Waits (bounded) until `done` holds for the whole error log; false if it never did.
    bool wait_for_log_until(const std::function<bool(const std::string&)>& done,
                            milliseconds limit = kWait) const;
    /// Fails if the logs hold an error line or a sanitizer report, other than lines containing
    /// one of `allowed`. Call after stop(), when everything is flushed.
    void check_logs(const std::vector<std::string>& allowed = {}) const;
    /// The usual end of a test: SIGQUIT, exit status 0, clean logs.
    void stop_and_check(const std::vector<std::string>& allowed = {});

private:
    bool start(const std::string& config_text);
    int reap(milliseconds limit, bool kill_on_timeout);

    std::string dir_;
    std::string config_path_;
    pid_t pid_ = -1;
    core::UniqueFd pidfd_;
    uint16_t port_ = 0;
};

/// Result of running `portico` to completion (for -t and friends).
struct RunResult {
    int status = -1;  ///< exit status, or 128 + signal
    std::string out, err;
};
[[nodiscard]] RunResult run_portico(const std::vector<std::string>& args, const TempDir& dir);

/// Header names compare without regard to case.
struct Caseless {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept;
};

struct Response {
    std::string version;  ///< "HTTP/1.1"
    int status = 0;
    std::string reason;
    std::multimap<std::string, std::string, Caseless> headers;
    std::string body;
    std::string raw;  ///< the whole response as received, head and body

    [[nodiscard]] bool has(std::string_view name) const { return headers.count(name) > 0; }
    /// The value of a header that occurs exactly once; fails the test otherwise.
    [[nodiscard]] std::string header(std::string_view name) const;
};

/// What read_until_close() saw.
struct Closed {
    std::string bytes;   ///< everything received before the end
    bool reset = false;  ///< ECONNRESET instead of a clean FIN
};

/// True if this machine has an IPv6 loopback to test with.
[[nodiscard]] bool have_ipv6_loopback();

/// A blocking TCP client on 127.0.0.1 whose every read waits at most `timeout`.
class Client {
public:
    /// rcvbuf > 0 sets SO_RCVBUF before connecting, which bounds the TCP window the server sees.
    /// `ipv6` connects to [::1] instead.
    explicit Client(uint16_t port, int rcvbuf = 0, milliseconds timeout = kWait, bool ipv6 = false);

    void send_raw(std::string_view bytes);
    /// Sends one byte per send() with TCP_NODELAY set, so each byte is its own segment.
    void send_dribbled(std::string_view bytes);
    /// Parses one response. A response to HEAD, a 1xx, a 204 and a 304 have no body; every other
    /// must carry Content-Length (portico always sends it).
    /// `piece` bounds each recv(), to read a body slowly.
    Response read_response(bool to_head = false, size_t piece = 65536);
    /// Exactly `n` bytes (after whatever is already buffered), read in pieces of at most `piece`.
    std::string read_exact(size_t n, size_t piece = 65536);
    /// Everything until the server ends the connection; fails if it does not within the timeout.
    Closed read_until_close();
    /// The connection ends cleanly with no further bytes.
    void expect_closed();
    /// True if no byte and no EOF arrives within `d`: the connection is open and quiet.
    bool quiet_for(milliseconds d);
    /// How long until the server ends the connection (no bytes may arrive in between).
    milliseconds time_until_close();
    void shutdown_write();
    /// Resizes the receive buffer of the open connection (to read faster after reading slowly).
    void set_rcvbuf(int bytes);
    /// Closes the connection from this side (a graceful stop need not wait for it).
    void close() noexcept { fd_.reset(); }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
    /// Reads once into buffered_ (waiting until `deadline`); returns the byte count, 0 for EOF.
    /// Fails the test on timeout or on a reset.
    size_t fill(Clock::time_point deadline, size_t max = 65536);

    core::UniqueFd fd_;
    milliseconds timeout_;
    std::string buffered_;
};

/// The usual test setup: the fixture site served by one portico with site_config(http_extra).
struct SiteServer {
    explicit SiteServer(std::string_view http_extra = {}, std::string_view top_extra = {})
        : server(site.dir, site_config(http_extra, top_extra)) {}

    Site site;
    Server server;
};

/// Builds "GET <target> HTTP/1.1\r\nHost: a.test\r\n<extra>\r\n".
[[nodiscard]] std::string get(std::string_view target, std::string_view extra = {},
                              std::string_view method = "GET", std::string_view host = "a.test");

/// Connects, completes one GET of /small.txt (checking its body) and leaves the connection idle
/// in keep-alive.
[[nodiscard]] std::unique_ptr<Client> idle_client(uint16_t port, const std::string& expect_body);

/// True for an IMF-fixdate that names a real time ("Sun, 06 Nov 1994 08:49:37 GMT").
[[nodiscard]] bool is_http_date(const std::string& text);

/// The headers every portico response carries.
void check_common_headers(const Response& r);

}  // namespace portico::test
