// Loads server.conf: libconfig++ parses the text, then every setting is checked and resolved
// (relative paths against the config's directory, "auto" to a CPU count) into a Config. Any
// problem stops the load with a ConfigError that names the file, line and setting.

#include "conf/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <system_error>
#include <thread>

#include "conf/defaults.hpp"
#include "conf/group_reader.hpp"
#include "conf/parse.hpp"
#include "conf/sections.hpp"
#include "conf/tls.hpp"
#include "core/buffer_pool.hpp"

namespace portico::conf {
namespace {

using detail::GroupReader;
using detail::OtherGroup;
using libconfig::Setting;
using namespace std::string_view_literals;
namespace fs = std::filesystem;

constexpr uint32_t kMaxWorkerProcesses = 1024;
constexpr uint32_t kMaxWorkerConnections = 1'000'000;
constexpr uint32_t kMaxRlimitNofile = 1'048'576;
constexpr uint32_t kMinHeaderBuffer = 1024;
// A request head must fit one pool buffer, so no header buffer may outgrow the largest class.
constexpr uint32_t kMaxHeaderBuffer = core::BufferPool::kClasses.back();

constexpr std::array kLogLevels{"trace"sv, "debug"sv, "info"sv, "warn"sv, "error"sv, "critical"sv, "off"sv};
constexpr std::array kCpuAffinities{"off"sv, "auto"sv};
constexpr std::array kAccessLogFormats{"combined"sv, "json"sv};
// The backoff cap may not be set so low that a crash-looping worker keeps the master busy.
constexpr Millis kMinRespawnBackoffMax{100};

const std::array<OtherGroup, 2> kNotAtTopLevel{{
    {detail::kHttpKeys, "inside the 'http' group"},
    {detail::kServerKeys, "inside each server of the 'servers' list"},
}};
const std::array<OtherGroup, 2> kNotInHttp{{
    {detail::kTopLevelKeys, "at the top level, outside 'http'"},
    {detail::kServerKeys, "inside each server of the 'servers' list"},
}};

uint32_t online_cpus() {
    unsigned n = std::thread::hardware_concurrency();
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? static_cast<unsigned>(online) : 1;
    }
    return std::min<uint32_t>(n, kMaxWorkerProcesses);
}

uint32_t read_worker_processes(const GroupReader& top) {
    constexpr std::string_view kExpected = "expected \"auto\" or a number between 1 and 1024";
    const Setting* s = top.find("worker_processes");
    if (s != nullptr && s->getType() == Setting::TypeString) {
        if (std::string_view{static_cast<const char*>(*s)} != "auto") {
            top.fail("worker_processes", kExpected);
        }
        return online_cpus();
    }
    if (s != nullptr && s->getType() != Setting::TypeInt && s->getType() != Setting::TypeInt64) {
        top.fail("worker_processes", kExpected);
    }
    uint32_t n = top.integer("worker_processes", kDefaults.worker_processes, 1, kMaxWorkerProcesses);
    return n == 0 ? online_cpus() : n;  // only the default is 0, and it means "auto"
}

// A string setting that must be one of `choices`.
std::string read_choice(const GroupReader& g, std::string_view key, std::string_view fallback,
                        std::span<const std::string_view> choices) {
    std::string value = g.string(key, fallback);
    if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
        g.fail(key, fmt::format("must be one of {} (got '{}')", fmt::join(choices, ", "), value));
    }
    return value;
}

// A path setting: `keyword` ("stderr", "off", or "" for pid_file), if there is one, passes
// through as it is; anything else must be non-empty and is resolved against the config's
// directory.
std::string read_path(const GroupReader& g, std::string_view key, std::string_view fallback,
                      std::optional<std::string_view> keyword, const fs::path& dir) {
    std::string value = g.string(key, fallback);
    if (keyword && value == *keyword) {
        return value;
    }
    if (value.empty()) {
        g.fail(key, keyword ? fmt::format("must not be empty; use \"{}\"", *keyword) : "must not be empty");
    }
    return detail::resolve_path(dir, value);
}

// The type goes into every Content-Type header, so anything that could break the header out
// (CR, LF, other control characters) is refused here.
std::string read_default_type(const GroupReader& http) {
    std::string type = http.string("default_type", kDefaults.default_type);
    bool printable = std::all_of(type.begin(), type.end(), [](char c) { return c >= ' ' && c <= '~'; });
    if (!printable || type.find('/') == std::string::npos || type.front() == ' ' || type.back() == ' ') {
        http.fail("default_type", fmt::format("'{}' is not a MIME type like \"text/plain\"", type));
    }
    return type;
}

void read_header_buffers(const GroupReader& http, HttpConfig& h) {
    h.client_header_buffer_size =
        static_cast<uint32_t>(http.size("client_header_buffer_size", kDefaults.client_header_buffer_size,
                                        kMinHeaderBuffer, kMaxHeaderBuffer));
    h.large_client_header_buffer_size = static_cast<uint32_t>(
        http.size("large_client_header_buffer_size", kDefaults.large_client_header_buffer_size,
                  kMinHeaderBuffer, kMaxHeaderBuffer));
    if (h.large_client_header_buffer_size >= h.client_header_buffer_size) {
        return;
    }
    // Blame whichever of the two was written; if both were, the large one.
    if (http.find("large_client_header_buffer_size") != nullptr) {
        http.fail("large_client_header_buffer_size",
                  fmt::format("must be at least client_header_buffer_size ({})",
                              detail::format_size(h.client_header_buffer_size)));
    }
    http.fail("client_header_buffer_size",
              fmt::format("must not exceed large_client_header_buffer_size ({})",
                          detail::format_size(h.large_client_header_buffer_size)));
}

HttpConfig read_http_group(const GroupReader& http, const fs::path& dir) {
    http.reject_unknown(detail::kHttpKeys, kNotInHttp);
    HttpConfig h;
    h.mime_types = read_path(http, "mime_types", kDefaults.mime_types, std::nullopt, dir);
    h.default_type = read_default_type(http);
    h.access_log = read_path(http, "access_log", kDefaults.access_log, "off", dir);
    h.access_log_format =
        read_choice(http, "access_log_format", kDefaults.access_log_format, kAccessLogFormats) == "json"
            ? AccessLogFormat::kJson
            : AccessLogFormat::kCombined;
    // 0 is allowed for keep-alive (no keep-alive) but not for the I/O timeouts: a zero there
    // would drop every connection at once.
    h.keepalive_timeout = http.duration("keepalive_timeout", kDefaults.keepalive_timeout);
    h.keepalive_requests = http.integer("keepalive_requests", kDefaults.keepalive_requests, 1,
                                        std::numeric_limits<uint32_t>::max());
    h.client_header_timeout =
        http.duration("client_header_timeout", kDefaults.client_header_timeout, Millis{1});
    h.client_body_timeout = http.duration("client_body_timeout", kDefaults.client_body_timeout, Millis{1});
    h.send_timeout = http.duration("send_timeout", kDefaults.send_timeout, Millis{1});
    h.client_max_body_size = http.size("client_max_body_size", kDefaults.client_max_body_size, 0,
                                       std::numeric_limits<uint64_t>::max());
    read_header_buffers(http, h);
    h.defer_accept = http.boolean("defer_accept", kDefaults.defer_accept);
    h.open_file_cache = detail::read_open_file_cache(http);
    h.compressed_cache = detail::read_compressed_cache(http);
    h.route = detail::read_route_settings(http, detail::RouteLevel::kHttp, dir);
    return h;
}

HttpConfig read_http(const GroupReader& top, const fs::path& dir) {
    const Setting* group = top.find("http");
    if (group == nullptr) {
        // Read an empty group rather than copy the defaults a second time.
        libconfig::Config empty;
        return read_http_group(top.nested(empty.getRoot(), "http"), dir);
    }
    if (!group->isGroup()) {
        top.fail("http", "expected a group: http = { ... };");
    }
    return read_http_group(top.nested(*group, "http"), dir);
}

// The settings of the master and the way it runs and supervises its workers.
void read_processes(const GroupReader& top, Config& c) {
    c.worker_processes = read_worker_processes(top);
    c.master_process = top.boolean("master_process", kDefaults.master_process);
    c.daemon = top.boolean("daemon", kDefaults.daemon);
    detail::read_user(top, c);
    c.worker_cpu_affinity_auto =
        read_choice(top, "worker_cpu_affinity", kDefaults.worker_cpu_affinity, kCpuAffinities) == "auto";
    c.worker_shutdown_timeout = top.duration("worker_shutdown_timeout", kDefaults.worker_shutdown_timeout);
    c.worker_watchdog_timeout = top.duration("worker_watchdog_timeout", kDefaults.worker_watchdog_timeout);
    c.worker_respawn_backoff_max =
        top.duration("worker_respawn_backoff_max", kDefaults.worker_respawn_backoff_max, kMinRespawnBackoffMax);
}

Config read_config(const Setting& root, const std::string& file, const fs::path& absolute_file) {
    fs::path dir = absolute_file.parent_path();
    GroupReader top(root, "", file, dir);
    top.reject_unknown(detail::kTopLevelKeys, kNotAtTopLevel);
    Config c;
    c.file = absolute_file.string();
    read_processes(top, c);
    c.pid_file = read_path(top, "pid_file", kDefaults.pid_file, "", dir);
    c.error_log = read_path(top, "error_log", kDefaults.error_log, "stderr", dir);
    c.log_level = read_choice(top, "log_level", kDefaults.log_level, kLogLevels);
    c.worker_connections =
        top.integer("worker_connections", kDefaults.worker_connections, 1, kMaxWorkerConnections);
    c.worker_rlimit_nofile =
        top.integer("worker_rlimit_nofile", kDefaults.worker_rlimit_nofile, 0, kMaxRlimitNofile);
    c.http = read_http(top, dir);
    c.upstreams = detail::read_upstreams(top);
    c.servers = detail::read_servers(top, dir);
    detail::resolve_routing(c);
    detail::resolve_proxy(c);
    return c;
}

// Read by hand rather than by Config::readFile, which loses errno and takes a directory for an
// empty file.
std::string read_file(const std::string& path) {
    auto fail = [&](int error) {
        throw ConfigError(fmt::format("{}: cannot read: {}", path, std::generic_category().message(error)));
    };
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(errno);
    }
    std::string text;
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int error = n < 0 ? errno : 0;
            close(fd);
            if (error != 0) {
                fail(error);
            }
            return text;
        }
        text.append(chunk, static_cast<size_t>(n));
    }
}

// "FILE:LINE: syntax error: WHY", without the WHY when libconfig says only "syntax error".
[[noreturn]] void throw_syntax_error(const libconfig::ParseException& e, const std::string& file,
                                     const fs::path& dir) {
    // libconfig names only included files, and as the @include wrote them: relative to dir.
    std::string source = e.getFile() != nullptr ? (dir / e.getFile()).lexically_normal().string() : file;
    std::string where = fmt::format("{}:{}: syntax error", source, e.getLine());
    std::string_view why = e.getError();
    throw ConfigError(why == "syntax error" ? where : fmt::format("{}: {}", where, why));
}

fs::path absolute_path(const std::string& file) {
    std::error_code ec;
    fs::path p = fs::absolute(file, ec);
    return (ec ? fs::path{file} : p).lexically_normal();
}

}  // namespace

namespace detail {

std::string resolve_path(const fs::path& dir, const std::string& path) {
    std::string result = (dir / path).lexically_normal().string();  // `/` keeps an absolute path
    while (result.size() > 1 && result.back() == '/') {
        result.pop_back();
    }
    return result;
}

}  // namespace detail

Config load_config(const std::string& path) {
    return load_config_from_string(read_file(path), path);
}

namespace {

Config load_text(const std::string& text, const std::string& file) {
    fs::path absolute_file = absolute_path(file);
    std::string dir = absolute_file.parent_path().string();
    libconfig::Config parsed;
    parsed.setIncludeDir(dir.c_str());  // @include "x.conf" is relative to this file too
    try {
        parsed.readString(text);
    } catch (const libconfig::ParseException& e) {
        throw_syntax_error(e, file, dir);
    } catch (const libconfig::FileIOException&) {
        throw ConfigError(fmt::format("{}: cannot read an included file", file));
    }
    return read_config(parsed.getRoot(), file, absolute_file);
}

}  // namespace

Config load_config_from_string(const std::string& text, const std::string& file) {
    return load_text(text, file);
}

}  // namespace portico::conf
