#pragma once
// What http::Connection calls for every parsed request. The name is older than the router it
// now leads to (http/router.hpp); it stays so that the connection need not change.

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/handlers/error_response.hpp"
#include "http/header_writer.hpp"
#include "http/router.hpp"

namespace portico::http {

/// Answers `ex`: see route(). Writes the status line and every header field except Connection
/// (and the blank line) into `hw`, and fills `reply`.
inline void handle_static(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply) {
    route(ctx, ex, hw, reply);
}

}  // namespace portico::http
