#pragma once
// The status endpoint (a server's status_path): every worker's counters as JSON, or as
// Prometheus text for a client that accepts text/plain.

#include <string_view>

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"

namespace portico::http {

/// Answers a GET or HEAD of the status path from ctx.stats (which must be set). The body lives in
/// ctx.status_body (scratch).
void serve_status(Context& ctx, const Request& req, std::string_view head, HeaderWriter& hw, Reply& reply);

}  // namespace portico::http
