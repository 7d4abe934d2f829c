#pragma once
// Internal to conf/: the `tls` group of a server and the checks that tie it to the `ssl` flag of
// listen addresses. A certificate is checked the way a worker will load it (core/tls), so -t and
// a reload catch an unreadable file, a broken PEM or a key of another certificate.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "conf/group_reader.hpp"

namespace portico::conf::detail {

/// The server's `tls` group, checked; nullopt when it has none. `needs_tls`: the server has an
/// ssl listener, so the group is required. Relative paths resolve against `dir`. An expired
/// certificate is logged as a warning naming the file and the date. Throws ConfigError.
std::optional<core::tls::Settings> read_tls(const GroupReader& server, const std::filesystem::path& dir,
                                            bool needs_tls);

/// Checks `server` against the `earlier` ones: an address is ssl for every server on it or for
/// none (one listener serves them all). Throws ConfigError at server's listen.
void check_tls_addresses(const GroupReader& server, const ServerConfig& config,
                         const std::vector<ServerConfig>& earlier);

}  // namespace portico::conf::detail
