#include "options.hpp"

#include <getopt.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace portico::bench {
namespace {

constexpr std::string_view kUsage =
    R"(usage: portico-bench [options] URL [URL...]
Load generator for HTTP/1.1 servers: forks client processes, each with its own epoll loop.

  -c N               connections in total (default 10)
  -p N               client processes (default: one per online CPU)
  -d SECONDS         run for this long (default 10; fractions allowed)
  -n N               or: send N requests in total, then stop
  --warmup SECONDS   run this long first without counting
  --close            one request per TCP connection (default: keep-alive)
  --pipeline N       requests in flight per connection (default 1)
  -m METHOD          request method (default GET; HEAD responses have no body)
  -H "Name: value"   extra request header (repeatable)
  --body-file FILE   send this file as the request body, with Content-Length
  --urls FILE        read URLs from FILE, one per line ('#' starts a comment)
  --timeout SECONDS  a request without a complete response by then fails (default 5)
  --rate R           open loop: R requests/s in total, latency counted from each
                     request's scheduled send time (no coordinated omission)
  --hold             each connection makes one request, then stays open and idle
                     until -d ends or SIGTERM (to measure a server's idle memory)
  --json             print the results as one JSON object on stdout
  --fail-on-error    exit 1 when any request failed (transport error or non-2xx/3xx)
  -h, --help         this text

Slow clients (run beside the normal load, which then needs -d; see BENCHMARKS.md):
  --slowloris N            N connections that trickle an endless request head
  --slowloris-interval S   one byte per connection every S seconds (default 2)
  --slow-readers N         N connections that request --slow-url and read it slowly
  --slow-url URL           what the slow readers download (default: the first URL)
  --slow-read-rate B       bytes a slow reader reads per second (default 1024)
  --slow-rcvbuf B          a slow reader's SO_RCVBUF (default 16384; 0: the kernel's)
  --slow-mss B             a slow reader's TCP_MAXSEG (default 1460; 0: the kernel's)
  --slow-ramp S            open the slow connections over S seconds (default 2)
  --slow-no-reconnect      do not replace a slow connection the server cut
  --slowloris-persist      after the server's answer or FIN, trickle on (as attack tools
                           do) until the server lets go of the socket, and report how long
  --baseline               first run the load alone for -d seconds, to compare
  --expect-header-timeout S, --expect-send-timeout S
                           the server's client_header_timeout and send_timeout: a cut
                           more than --expect-slack S (default 1) from them is early or late

URLs: http://HOST[:PORT][/PATH] with HOST numeric (127.0.0.1, [::1]) or localhost.
Connections take the URLs in turn. Exit status: 0 ok, 1 failed run or failed requests
with --fail-on-error, 2 usage error.
)";

// clang-format off
enum LongOption : int {
    kWarmup = 256, kClose, kPipeline, kBodyFile, kUrls, kTimeout, kRate, kHold, kJson, kFailOnError,
    kSlowloris, kLorisInterval, kSlowReaders, kSlowUrl, kReadRate, kRcvbuf, kMss, kRamp, kNoReconnect,
    kBaseline, kExpectHeader, kExpectSend, kExpectSlack, kPersist,
};
// clang-format on

constexpr option kLongOptions[] = {
    {"warmup", required_argument, nullptr, kWarmup},
    {"close", no_argument, nullptr, kClose},
    {"pipeline", required_argument, nullptr, kPipeline},
    {"body-file", required_argument, nullptr, kBodyFile},
    {"urls", required_argument, nullptr, kUrls},
    {"timeout", required_argument, nullptr, kTimeout},
    {"rate", required_argument, nullptr, kRate},
    {"hold", no_argument, nullptr, kHold},
    {"json", no_argument, nullptr, kJson},
    {"fail-on-error", no_argument, nullptr, kFailOnError},
    {"slowloris", required_argument, nullptr, kSlowloris},
    {"slowloris-interval", required_argument, nullptr, kLorisInterval},
    {"slow-readers", required_argument, nullptr, kSlowReaders},
    {"slow-url", required_argument, nullptr, kSlowUrl},
    {"slow-read-rate", required_argument, nullptr, kReadRate},
    {"slow-rcvbuf", required_argument, nullptr, kRcvbuf},
    {"slow-mss", required_argument, nullptr, kMss},
    {"slow-ramp", required_argument, nullptr, kRamp},
    {"slow-no-reconnect", no_argument, nullptr, kNoReconnect},
    {"baseline", no_argument, nullptr, kBaseline},
    {"slowloris-persist", no_argument, nullptr, kPersist},
    {"expect-header-timeout", required_argument, nullptr, kExpectHeader},
    {"expect-send-timeout", required_argument, nullptr, kExpectSend},
    {"expect-slack", required_argument, nullptr, kExpectSlack},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

uint64_t parse_count(std::string_view what, const char* text, uint64_t min, uint64_t max) {
    const std::string_view s(text);
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || value < min || value > max) {
        throw UsageError(std::string(what) + " wants a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not '" + std::string(s) + "'");
    }
    return value;
}

double parse_seconds(std::string_view what, const char* text, bool zero_ok) {
    const std::string_view s(text);
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value) || value < 0 ||
        (!zero_ok && value == 0) || value > 1e7) {
        throw UsageError(std::string(what) + " wants a positive number, not '" + std::string(s) + "'");
    }
    return value;
}

std::string read_file(const std::string& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UsageError("cannot read " + std::string(what) + " '" + path + "'");
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void add_urls_from_file(const std::string& path, std::vector<std::string>& urls) {
    std::istringstream lines(read_file(path, "--urls file"));
    for (std::string line; std::getline(lines, line);) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        const auto last = line.find_last_not_of(" \t\r");
        urls.push_back(line.substr(first, last - first + 1));
    }
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

void check_header(const std::string& header) {
    const auto colon = header.find(':');
    const bool ok = colon != std::string::npos && is_token(std::string_view(header).substr(0, colon)) &&
                    header.find_first_of("\r\n") == std::string::npos;
    if (!ok) {
        throw UsageError("-H wants \"Name: value\", not '" + header + "'");
    }
}

uint32_t parse_u32(std::string_view what, const char* text, uint64_t min, uint64_t max) {
    return static_cast<uint32_t>(parse_count(what, text, min, max));
}

// The slow-client options; false when `opt` is not one of them.
bool apply_slow_option(int opt, const char* arg, SlowOptions& s) {
    switch (opt) {
        case kSlowloris: s.loris = parse_u32("--slowloris", arg, 0, 100'000); break;
        case kLorisInterval: s.loris_interval_sec = parse_seconds("--slowloris-interval", arg, false); break;
        case kSlowReaders: s.readers = parse_u32("--slow-readers", arg, 0, 100'000); break;
        case kSlowUrl: s.reader_url = arg; break;
        case kReadRate: s.read_rate = parse_u32("--slow-read-rate", arg, 1, 1u << 30); break;
        case kRcvbuf: s.rcvbuf = parse_u32("--slow-rcvbuf", arg, 0, 1u << 30); break;
        case kMss: s.mss = parse_u32("--slow-mss", arg, 0, 65535); break;
        case kRamp: s.ramp_sec = parse_seconds("--slow-ramp", arg, true); break;
        case kNoReconnect: s.reconnect = false; break;
        case kBaseline: s.baseline = true; break;
        case kPersist: s.persist = true; break;
        case kExpectHeader: s.expect_header_sec = parse_seconds("--expect-header-timeout", arg, false); break;
        case kExpectSend: s.expect_send_sec = parse_seconds("--expect-send-timeout", arg, false); break;
        case kExpectSlack: s.expect_slack_sec = parse_seconds("--expect-slack", arg, true); break;
        default: return false;
    }
    return true;
}

void apply_option(int opt, const char* arg, Options& o) {
    if (apply_slow_option(opt, arg, o.slow)) return;
    switch (opt) {
        case 'c': o.connections = static_cast<uint32_t>(parse_count("-c", arg, 1, 1'000'000)); break;
        case 'p': o.processes = static_cast<uint32_t>(parse_count("-p", arg, 1, 1024)); break;
        case 'd': o.duration_sec = parse_seconds("-d", arg, false); break;
        case 'n': o.total_requests = parse_count("-n", arg, 1, uint64_t{1} << 48); break;
        case 'm': o.method = arg; break;
        case 'H': o.headers.emplace_back(arg); break;
        case kWarmup: o.warmup_sec = parse_seconds("--warmup", arg, true); break;
        case kClose: o.close = true; break;
        case kPipeline: o.pipeline = static_cast<uint32_t>(parse_count("--pipeline", arg, 1, 1024)); break;
        case kBodyFile: o.body = read_file(arg, "--body-file"); break;
        case kUrls: add_urls_from_file(arg, o.urls); break;
        case kTimeout: o.timeout_sec = parse_seconds("--timeout", arg, false); break;
        case kRate: o.rate = parse_seconds("--rate", arg, false); break;
        case kHold: o.hold = true; break;
        case kJson: o.json = true; break;
        case kFailOnError: o.fail_on_error = true; break;
        case 'h': o.help = true; break;
        default: break;
    }
}

void check_slow(const Options& o) {
    const SlowOptions& s = o.slow;
    if (!s.enabled()) {
        if (s.baseline || !s.reader_url.empty()) {
            throw UsageError("--baseline and --slow-url go with --slowloris or --slow-readers");
        }
        return;
    }
    // The slow clients are stopped when the load ends, so the load must end on time.
    if (o.total_requests != 0 || o.hold) throw UsageError("the slow-client mode wants -d, not -n or --hold");
    if (s.mss != 0 && s.mss < 88) throw UsageError("--slow-mss wants 88 or more (or 0)");
}

void check_combinations(const Options& o, bool duration_given) {
    if (o.urls.empty()) throw UsageError("no URL given");
    if (!is_token(o.method)) throw UsageError("-m wants a method name, not '" + o.method + "'");
    for (const auto& h : o.headers) check_header(h);
    if (duration_given && o.total_requests != 0) throw UsageError("-d and -n exclude each other");
    if (o.close && o.pipeline > 1) throw UsageError("--close and --pipeline exclude each other");
    if (o.hold && (o.total_requests != 0 || o.rate > 0 || o.close || o.pipeline > 1)) {
        throw UsageError("--hold goes only with -c, -p, -d and the request options");
    }
    check_slow(o);
}

}  // namespace

Options parse_options(int argc, char** argv) {
    Options o;
    bool duration_given = false;
    opterr = 0;  // our own messages, as UsageError
    optind = 0;  // full re-initialisation (glibc), so tests may parse many command lines
    for (;;) {
        const int opt = getopt_long(argc, argv, "c:p:d:n:m:H:h", kLongOptions, nullptr);
        if (opt == -1) break;
        if (opt == '?' || opt == ':') {
            const std::string name =
                optopt != 0 ? std::string("-") + static_cast<char>(optopt) : std::string(argv[optind - 1]);
            throw UsageError("unknown option or missing value: " + name);
        }
        apply_option(opt, optarg, o);
        duration_given = duration_given || opt == 'd';
        if (o.help) return o;
    }
    for (int i = optind; i < argc; ++i) {
        o.urls.emplace_back(argv[i]);
    }
    check_combinations(o, duration_given);
    return o;
}

std::string_view usage_text() noexcept { return kUsage; }

}  // namespace portico::bench
