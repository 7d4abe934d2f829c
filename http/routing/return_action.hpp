#pragma once
// nginx's `return`: "CODE URL" for the redirect codes, "CODE text" (or "CODE" alone) otherwise.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/routing/value_template.hpp"

namespace portico::http::routing {

struct ReturnAction {
    uint16_t code = 0;
    bool redirect = false;  ///< 301, 302, 303, 307, 308: `value` is the Location
    ValueTemplate value;    ///< the Location, or the body text (possibly empty)

    /// Parses "301 https://$host$request_uri", "200 ok", "404". The code must be 200..599 and a
    /// redirect code needs a URL. Returns nullopt and sets `problem` otherwise, or when the value
    /// names an unknown variable.
    static std::optional<ReturnAction> parse(std::string_view text, std::string& problem);
};

/// True for the codes whose `return` value is a Location rather than a body.
constexpr bool is_redirect_code(uint16_t code) noexcept {
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

}  // namespace portico::http::routing
