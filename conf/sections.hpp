#pragma once
// Internal to conf/: the keys each part of server.conf may hold, and the readers of the parts
// that live in their own files.

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "conf/group_reader.hpp"

namespace portico::conf::detail {

using namespace std::string_view_literals;

inline constexpr std::array kTopLevelKeys{
    "worker_processes"sv,
    "master_process"sv,
    "daemon"sv,
    "user"sv,
    "worker_cpu_affinity"sv,
    "worker_watchdog_timeout"sv,
    "worker_respawn_backoff_max"sv,
    "pid_file"sv,
    "error_log"sv,
    "log_level"sv,
    "worker_connections"sv,
    "worker_rlimit_nofile"sv,
    "worker_shutdown_timeout"sv,
    "http"sv,
    "servers"sv,
    "upstreams"sv,
};

inline constexpr std::array kHttpKeys{
    "error_pages"sv, "add_headers"sv, "expires"sv, "access"sv, "dotfiles"sv,  // routing, see conf/route.hpp
    "autoindex"sv,
    "precompressed"sv, "gzip"sv, "brotli"sv, "charset"sv, "compressed_cache"sv,  // content (issue 9)
    "mime_types"sv,
    "default_type"sv,
    "access_log"sv,
    "access_log_format"sv,
    "keepalive_timeout"sv,
    "keepalive_requests"sv,
    "client_header_timeout"sv,
    "client_body_timeout"sv,
    "send_timeout"sv,
    "client_max_body_size"sv,
    "defer_accept"sv,
    "client_header_buffer_size"sv,
    "large_client_header_buffer_size"sv,
    "open_file_cache"sv,
    // the proxy, see conf/proxy.hpp
    "proxy_set_headers"sv, "proxy_connect_timeout"sv, "proxy_read_timeout"sv, "proxy_send_timeout"sv,
    "proxy_next_upstream_tries"sv,
};

inline constexpr std::array kOpenFileCacheKeys{"max"sv, "valid"sv, "in_memory_max"sv, "memory"sv};

inline constexpr std::array kServerKeys{"listen"sv, "server_name"sv, "root"sv, "index"sv, "status_path"sv, "tls"sv,
                                       // routing, see conf/route.hpp
                                       "locations"sv, "try_files"sv, "return"sv, "error_pages"sv,
                                       "add_headers"sv, "expires"sv, "access"sv, "dotfiles"sv,
                                       // the proxy, see conf/proxy.hpp
                                       "proxy_set_headers"sv, "proxy_connect_timeout"sv, "proxy_read_timeout"sv,
                                       "proxy_send_timeout"sv, "proxy_next_upstream_tries"sv, "autoindex"sv,
                                       // content (issue 9)
                                       "precompressed"sv, "gzip"sv, "brotli"sv, "charset"sv};

inline constexpr std::array kLocationKeys{"match"sv,       "root"sv,        "alias"sv,   "index"sv,
                                         "try_files"sv,   "return"sv,      "error_pages"sv,
                                         "add_headers"sv, "expires"sv,     "access"sv,  "dotfiles"sv,
                                         // the proxy, see conf/proxy.hpp
                                         "proxy_pass"sv, "proxy_set_headers"sv, "proxy_connect_timeout"sv,
                                         "proxy_read_timeout"sv, "proxy_send_timeout"sv,
                                         "proxy_next_upstream_tries"sv, "autoindex"sv,
                                         // content (issue 9)
                                         "precompressed"sv, "gzip"sv, "brotli"sv, "charset"sv};

inline constexpr std::array kUpstreamKeys{"name"sv, "servers"sv, "balance"sv, "keepalive"sv,
                                         "keepalive_timeout"sv};

/// Which level a group of routing settings belongs to; each holds a different subset.
enum class RouteLevel : uint8_t { kHttp, kServer, kLocation };

/// `path` made absolute against `dir` (the config file's directory) and lexically normalised,
/// without a trailing slash unless it is "/".
std::string resolve_path(const std::filesystem::path& dir, const std::string& path);

/// Reads the `user` setting ("name" or "name group") into config.user, user_uid and user_gid,
/// looking both names up in the system's databases. Throws ConfigError.
void read_user(const GroupReader& top, Config& config);

/// Reads the `open_file_cache` group of `http` (absent: every default). Throws ConfigError.
OpenFileCacheConfig read_open_file_cache(const GroupReader& http);

/// Reads and checks the `servers` list of the top-level group. Relative roots are resolved
/// against `dir`. Throws ConfigError.
std::vector<ServerConfig> read_servers(const GroupReader& top, const std::filesystem::path& dir);

/// "FILE:LINE: setting 'NAME'" for `key` of `g` (its group's line when absent): where a later
/// message about the setting should point.
std::string where_is(const GroupReader& g, std::string_view key);

/// A server's or a location's `index`: plain file names (no '/', '.' or '..'), at least one,
/// since they are joined to a directory inside the root. Throws ConfigError.
std::vector<std::string> read_index_files(const GroupReader& g);

/// Reads the routing settings `level` may hold from `g` (conf/route_settings.cpp). The caller has
/// rejected unknown keys; root and index are read here only for a location. Throws ConfigError.
RouteSettings read_route_settings(const GroupReader& g, RouteLevel level, const std::filesystem::path& dir);

/// Reads the content settings (precompressed, gzip, brotli, charset) `g` writes into `r`
/// (conf/content_settings.cpp). Throws ConfigError.
void read_content_settings(const GroupReader& g, RouteSettings& r);

/// http.compressed_cache: the bytes of compressed representations each worker keeps.
uint64_t read_compressed_cache(const GroupReader& http);

/// Reads a server's own routing settings and its `locations` list, and compiles the list's
/// matcher (conf/locations.cpp). Throws ConfigError for a bad match, a regex that does not
/// compile, a duplicate location, or a setting the location's kind does not allow.
void read_server_routing(const GroupReader& g, const std::filesystem::path& dir, ServerConfig& server);

/// Fills in what each level leaves unset: http -> server -> location.
void resolve_routing(Config& config);

/// Reads the top-level `upstreams` list (conf/upstreams.cpp): names, servers and their options,
/// balance, keepalive. Throws ConfigError.
std::vector<Upstream> read_upstreams(const GroupReader& top);

/// Reads the proxy_* settings `level` may hold (proxy_pass only in a location), or nullopt when
/// it writes none (conf/proxy_settings.cpp). Throws ConfigError.
std::optional<ProxySettings> read_proxy_settings(const GroupReader& g, RouteLevel level);

/// Refuses a proxy_pass with a path in a regex location, as nginx does. Throws ConfigError.
void check_proxy_pass(const GroupReader& g, const http::routing::MatchSpec& spec, const RouteSettings& settings);

/// Points every location's proxy_pass at its upstream (throws for an unknown one, naming the
/// file, line and setting) and fills the proxy settings no level wrote from the defaults.
void resolve_proxy(Config& config);


}  // namespace portico::conf::detail
