#pragma once
// The responses every handler may end in: the status line with the Server and Date lines, and an
// error with its small built-in HTML page.

#include <cstdint>
#include <string_view>

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"
#include "http/status.hpp"

namespace portico::http {

/// Writes the status line and the Server and Date lines every response starts with.
inline void start_response(Context& ctx, HeaderWriter& hw, uint16_t status) noexcept {
    hw.add(status_line(status)).add(ctx.date.server_and_date_lines());
}

/// An error response with its small HTML page (no body for HEAD). `extra` is inserted as is
/// (whole "Name: value\r\n" lines, or empty).
void build_error(Context& ctx, uint16_t status, bool head_only, std::string_view extra, HeaderWriter& hw,
                 Reply& reply);

}  // namespace portico::http
