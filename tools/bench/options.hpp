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
};

/// Parses argv. Reads --urls and --body-file. Throws UsageError on anything it cannot run.
/// When -h is given, returns with `help` set and checks nothing else.
Options parse_options(int argc, char** argv);

/// The text printed for -h.
[[nodiscard]] std::string_view usage_text() noexcept;

}  // namespace portico::bench
