#pragma once
// The validated configuration. load_config() is the only way to make one; defaults live in
// conf/defaults.hpp and nowhere else.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "conf/route.hpp"
#include "core/tls/settings.hpp"

namespace portico::conf {

using Millis = std::chrono::milliseconds;

/// A config problem. what() reads "FILE:LINE: setting 'NAME': problem" (LINE is omitted
/// when libconfig does not know it), ready to print as it is.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ListenAddress {
    std::string host;   ///< numeric address: "127.0.0.1", "0.0.0.0", "::1", "::"
    uint16_t port = 0;
    bool ipv6 = false;
    bool ssl = false;   ///< "127.0.0.1:8443 ssl": TLS on this address (for every server on it)
    [[nodiscard]] std::string to_string() const;  ///< "127.0.0.1:8080" or "[::1]:8080", no flags
    bool operator==(const ListenAddress&) const = default;
};

struct ServerConfig {
    std::vector<ListenAddress> listen;
    std::vector<std::string> server_names;  ///< lower-case; may be empty
    std::string root;                       ///< absolute path, no trailing slash
    std::vector<std::string> index;         ///< file names, e.g. "index.html"
    /// Where this server answers with the workers' counters, or empty for nowhere. Already in
    /// the form a normalised request path takes (starts with '/', no "." or ".." segments, no
    /// empty ones, nothing to percent-decode, no query), so an exact compare with one is enough.
    std::string status_path;
    /// The `tls` group, checked (files readable, keys matching); set when the server has one.
    std::optional<core::tls::Settings> tls;
    RouteSettings route;                   ///< its own, then http's; root and index are the two above
    std::vector<LocationConfig> locations;  ///< in file order; the matcher's ids index this
    /// Compiled once per config generation and shared by the workers forked with it; null when the
    /// server has no locations, so a plain server pays nothing for routing.
    std::shared_ptr<const http::routing::LocationMatcher> matcher;
};

/// How the access log writes a line: nginx's combined format, or one JSON object.
enum class AccessLogFormat : uint8_t { kCombined, kJson };

/// http.open_file_cache: each worker's cache of open files (http/file_cache.hpp).
struct OpenFileCacheConfig {
    uint32_t max = 0;            ///< most entries (files, directories, missing paths); 0 = no cache
    Millis valid;                ///< an entry is checked against the disk again after this
    uint64_t in_memory_max = 0;  ///< files up to this size are held in memory, with no descriptor
    uint64_t memory = 0;         ///< most bytes of file contents one worker holds in memory
};

struct HttpConfig {
    std::string mime_types;       ///< absolute path
    std::string default_type;
    std::string access_log;       ///< absolute path, or "off"
    AccessLogFormat access_log_format = AccessLogFormat::kCombined;
    Millis keepalive_timeout;
    uint32_t keepalive_requests = 0;
    Millis client_header_timeout;
    Millis client_body_timeout;
    Millis send_timeout;
    uint64_t client_max_body_size = 0;            ///< 0 = no limit
    /// TCP_DEFER_ACCEPT on the listeners: a worker hears of a connection when its request arrives.
    bool defer_accept = true;
    uint32_t client_header_buffer_size = 0;
    uint32_t large_client_header_buffer_size = 0;  ///< the most a request head may take
    OpenFileCacheConfig open_file_cache;
    /// Bytes of compressed representations (gzip, brotli) of small files each worker keeps.
    uint64_t compressed_cache = 0;
    RouteSettings route;  ///< what every server inherits (error_pages, add_headers, expires, access, dotfiles)
};

struct Config {
    std::string file;              ///< absolute path of the file this came from
    uint32_t worker_processes = 0; ///< resolved: "auto" becomes the number of online CPUs
    bool master_process = true;
    bool daemon = false;           ///< detach from the terminal
    /// The user workers switch to when portico starts as root, or empty to stay as started.
    /// Only the user name (for initgroups()), even when the setting also named a group.
    std::string user;
    uid_t user_uid = 0;            ///< user's uid, looked up at load; meaningless when user is empty
    gid_t user_gid = 0;            ///< the group named in the setting, else user's primary group
    bool worker_cpu_affinity_auto = false;  ///< pin worker i to CPU i mod the online CPUs
    Millis worker_watchdog_timeout;         ///< 0: no watchdog
    Millis worker_respawn_backoff_max;      ///< at least 100 ms
    std::string pid_file;          ///< absolute path, or empty for none
    std::string error_log;         ///< absolute path, or "stderr"
    std::string log_level;         ///< trace, debug, info, warn, error, critical, off
    uint32_t worker_connections = 0;
    uint32_t worker_rlimit_nofile = 0;  ///< 0 = leave the limit alone
    Millis worker_shutdown_timeout;
    HttpConfig http;
    std::vector<ServerConfig> servers;  ///< at least one
    std::vector<Upstream> upstreams;    ///< the proxy's server groups; proxy_pass indexes this
};

/// Every address some server listens on, each once, in the order the config first names them:
/// one listener (group) per entry serves all the servers on that address.
std::vector<ListenAddress> distinct_listen_addresses(const Config& config);

/// Reads, checks and resolves `path`. Relative paths inside are relative to the directory of
/// `path`. Throws ConfigError on any problem (unknown key, wrong type, out of range, ...).
Config load_config(const std::string& path);

/// The same, from text in memory; `file` names it in error messages and anchors relative
/// paths (its directory). For tests.
Config load_config_from_string(const std::string& text, const std::string& file);

}  // namespace portico::conf
