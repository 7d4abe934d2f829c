#pragma once
// nginx's `return`: a redirect (301, 302, 303, 307, 308) with its Location, or a fixed text.

#include <cstdint>

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"
#include "http/routing/return_action.hpp"
#include "http/routing/value_template.hpp"

namespace portico::http {

/// Answers `action` for `vars`: a redirect with the expanded Location and the built-in page, or
/// the expanded text as text/plain (none for 204 and 304, nor for HEAD). Returns 0 when it wrote
/// the response. An error code without text ("return 404") is not written: its code is returned,
/// for the caller to answer as any other error (error pages apply, as in nginx); so is 500 when
/// the expansion does not fit. `status`, when not 0, replaces the code of a text answer (an error
/// page's location: the text goes out with the error's status).
uint16_t serve_return(Context& ctx, const routing::ReturnAction& action, const routing::RequestVars& vars,
                      bool head_only, HeaderWriter& hw, Reply& reply, uint16_t status = 0);

}  // namespace portico::http
