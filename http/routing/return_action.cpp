#include "http/routing/return_action.hpp"

#include <fmt/format.h>

namespace portico::http::routing {

std::optional<ReturnAction> ReturnAction::parse(std::string_view text, std::string& problem) {
    constexpr std::string_view kForm =
        "expected \"CODE URL\" (301, 302, 303, 307, 308) or \"CODE text\", e.g. \"301 "
        "https://$host$request_uri\"";
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits != 3 || (text.size() > 3 && text[3] != ' ')) {
        problem = fmt::format("'{}' does not start with a three-digit status code; {}", text, kForm);
        return std::nullopt;
    }
    ReturnAction action;
    action.code = static_cast<uint16_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
    if (action.code < 200 || action.code > 599) {
        problem = fmt::format("status code {} is not between 200 and 599", action.code);
        return std::nullopt;
    }
    std::string_view rest = text.substr(digits);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    action.redirect = is_redirect_code(action.code);
    if (action.redirect && rest.empty()) {
        problem = fmt::format("a {0} redirect needs a URL: \"{0} https://$host$request_uri\"", action.code);
        return std::nullopt;
    }
    auto value = ValueTemplate::compile(rest, problem);
    if (!value) return std::nullopt;
    action.value = std::move(*value);
    return action;
}

}  // namespace portico::http::routing
