#pragma once
// The default of every setting, in one place: the loader takes a value from here whenever a key
// is absent. conf/server.conf repeats these values in its comments; keep the two in step by
// hand when one of them changes.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "conf/config.hpp"

namespace portico::conf {

struct Defaults {
    // Top level.
    uint32_t worker_processes = 0;  ///< 0 stands for "auto": one worker per online CPU
    bool master_process = true;
    bool daemon = false;
    std::string_view user = "";  ///< empty: workers keep the user portico was started as
    std::string_view worker_cpu_affinity = "off";
    Millis worker_watchdog_timeout = std::chrono::seconds{10};  ///< 0: no watchdog
    Millis worker_respawn_backoff_max = std::chrono::seconds{30};
    std::string_view pid_file = "";  ///< empty: write no pid file
    std::string_view error_log = "stderr";
    std::string_view log_level = "info";
    uint32_t worker_connections = 10000;
    uint32_t worker_rlimit_nofile = 0;  ///< 0: leave RLIMIT_NOFILE as inherited
    Millis worker_shutdown_timeout = std::chrono::seconds{10};

    // The http group.
    std::string_view mime_types = "/etc/mime.types";
    std::string_view default_type = "application/octet-stream";
    std::string_view access_log = "off";
    std::string_view access_log_format = "combined";
    Millis keepalive_timeout = std::chrono::seconds{75};
    uint32_t keepalive_requests = 1000;
    Millis client_header_timeout = std::chrono::seconds{60};
    Millis client_body_timeout = std::chrono::seconds{60};
    Millis send_timeout = std::chrono::seconds{60};
    uint64_t client_max_body_size = 1024 * 1024;  ///< 0: no limit
    bool defer_accept = true;
    uint32_t client_header_buffer_size = 1024;
    uint32_t large_client_header_buffer_size = 8 * 1024;

    // http.open_file_cache.
    uint32_t open_file_cache_max = 4096;
    Millis open_file_cache_valid = std::chrono::seconds{1};
    uint64_t open_file_cache_in_memory_max = 4 * 1024;
    uint64_t open_file_cache_memory = 32 * 1024 * 1024;

    // Content (issue 9): http.compressed_cache, and a gzip or brotli block's keys left unset.
    uint64_t compressed_cache = 32 * 1024 * 1024;
    uint64_t compression_min_length = 256;
    uint32_t gzip_level = 5;
    uint32_t brotli_quality = 5;

    // Each server. listen and root have no default: they are required.
    std::string_view index = "index.html";
    std::string_view status_path = "";  ///< empty: no status endpoint

    // The tls group of a server (conf/tls.cpp); the cipher list is core::tls::kDefaultCiphers.
    uint8_t tls_protocols = core::tls::kTls12 | core::tls::kTls13;
    bool tls_session_tickets = true;
    Millis tls_session_timeout = std::chrono::hours{1};

    // The proxy (conf/proxy.hpp): each upstream, and the proxy_* settings no level writes.
    std::string_view upstream_balance = "round_robin";
    uint32_t upstream_keepalive = 32;
    Millis upstream_keepalive_timeout = std::chrono::seconds{4};
    Millis proxy_connect_timeout = std::chrono::seconds{60};
    Millis proxy_read_timeout = std::chrono::seconds{60};
    Millis proxy_send_timeout = std::chrono::seconds{60};
    uint32_t proxy_next_upstream_tries = 0;  ///< 0: as many as the upstream has servers
};

inline constexpr Defaults kDefaults{};

}  // namespace portico::conf
