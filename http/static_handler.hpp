#pragma once
// Static files: from a parsed request to a response head and a description of its body.

#include <cstdint>
#include <string_view>

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"
#include "http/parser.hpp"

namespace portico::http {

/// Answers `ex`. Writes the status line and every header field except Connection (and the blank
/// line) into `hw`, and fills `reply`.
void handle_static(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply);

/// An error response with its small HTML page (no body for HEAD). `extra` is inserted as is
/// (whole "Name: value\r\n" lines, or empty).
void build_error(Context& ctx, uint16_t status, bool head_only, std::string_view extra, HeaderWriter& hw,
                 Reply& reply);

}  // namespace portico::http
