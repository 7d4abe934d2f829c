#pragma once
// From a parsed request to its handler: the virtual server (by Host), the target split into path
// and query, the path normalised once; then the straight path of a plain server (root, index,
// the dotfile rule), or the passes through a server's locations (http/routed_request.hpp).

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"

namespace portico::http {

/// Answers `ex`. Writes the status line and every header field except Connection (and the blank
/// line) into `hw`, and fills `reply`.
void route(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply);

}  // namespace portico::http
