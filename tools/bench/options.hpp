#pragma once
// The command line of portico-bench. Everything a run needs is decided here, before the first
// fork: a bad option is a usage error (exit status 2), never a surprise inside a client.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace portico::bench {

/// A command line that cannot be run. what() is a one-line message for the user.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The slow-client mode (portico-bench --slowloris / --slow-readers): connections that hold a
/// server's resources by being slow, run beside the normal load to see what they cost it.
struct SlowOptions {
    uint32_t loris = 0;               ///< --slowloris: connections that trickle a request head
    double loris_interval_sec = 2.0;  ///< one byte per connection this often
    uint32_t readers = 0;             ///< --slow-readers: connections that download slowly
    std::string reader_url;           ///< what they download (default: the first URL)
    uint32_t read_rate = 1024;        ///< bytes a reader takes per second
    uint32_t rcvbuf = 16384;          ///< SO_RCVBUF of a reader; 0: the kernel's
    uint32_t mss = 1460;              ///< TCP_MAXSEG of a reader; 0: the kernel's
    double ramp_sec = 2.0;            ///< the slow connections open spread over this long
    bool reconnect = true;            ///< a cut connection is replaced by a new one
    bool persist = false;             ///< a slowloris ignores the answer and trickles on until reset
    bool baseline = false;            ///< first run the load alone, for -d seconds
    double expect_header_sec = 0;     ///< the server's client_header_timeout, to judge cuts; 0: unknown
    double expect_send_sec = 0;       ///< the server's send_timeout; 0: unknown
    double expect_slack_sec = 1.0;    ///< a cut within this of the expected time is on time

    [[nodiscard]] bool enabled() const noexcept { return loris > 0 || readers > 0; }
};

struct Options {
    uint32_t connections = 10;
    uint32_t processes = 0;       ///< 0: one per online CPU
    double duration_sec = 10.0;   ///< used when total_requests is 0
    uint64_t total_requests = 0;  ///< -n; 0 means "run for duration_sec"
    double warmup_sec = 0.0;
    double timeout_sec = 5.0;
    double rate = 0.0;  ///< --rate, requests/s over all clients; 0 = closed loop
    uint32_t pipeline = 1;
    bool close = false;  ///< one request per TCP connection
    bool hold = false;   ///< each connection makes one request, then stays open idle
    bool json = false;
    bool fail_on_error = false;
    bool help = false;
    std::string method = "GET";
    std::vector<std::string> headers;  ///< "Name: value", checked
    std::string body;                  ///< contents of --body-file
    std::vector<std::string> urls;     ///< from the command line and --urls FILE
    SlowOptions slow;
};

/// Parses argv. Reads --urls and --body-file. Throws UsageError on anything it cannot run.
/// When -h is given, returns with `help` set and checks nothing else.
Options parse_options(int argc, char** argv);

/// The text printed for -h.
[[nodiscard]] std::string_view usage_text() noexcept;

}  // namespace portico::bench
