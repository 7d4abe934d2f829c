#pragma once
// The worker's view of its servers, built once at start-up: each server's root and each distinct
// location root or alias opened (O_PATH), each location's handler chosen, and whether a server
// can take the straight path that costs what a plain static server costs.

#include "conf/config.hpp"
#include "http/context.hpp"

namespace portico::http {

/// Fills ctx.servers (and ctx.location_roots) from `config`, in config order. Throws
/// std::runtime_error naming the call and the path when a root cannot be opened; an alias that
/// does not exist is only logged (its requests are 404 until a reload), as the loader allows.
void open_virtual_servers(const conf::Config& config, Context& ctx);

}  // namespace portico::http
