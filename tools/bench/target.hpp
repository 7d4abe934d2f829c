#pragma once
// One URL, resolved once at start-up into what a connection needs: an address to connect to,
// the Host header value and the request target.

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace portico::bench {

struct Target {
    sockaddr_storage address{};
    socklen_t address_len = 0;
    std::string host;  ///< the Host header value, as the URL wrote it ("127.0.0.1:8080")
    std::string path;  ///< origin-form request target, "/" at least; the fragment is dropped
};

/// Parses "http://HOST[:PORT][/PATH]" where HOST is a numeric IPv4 address, "[IPv6]" or
/// "localhost" (127.0.0.1). No name lookups: a benchmark should not measure DNS. Throws
/// UsageError for anything else.
Target parse_target(std::string_view url);

}  // namespace portico::bench
