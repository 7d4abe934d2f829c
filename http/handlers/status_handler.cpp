#include "http/handlers/status_handler.hpp"

#include "core/strings.hpp"
#include "http/handlers/error_response.hpp"
#include "http/status_page.hpp"

namespace portico::http {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The value of a header the parser does not keep, from the validated head; empty if absent.
std::string_view raw_header(std::string_view head, std::string_view name) noexcept {
    size_t pos = head.find("\r\n");  // skip the request line
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        size_t start = pos + 2, end = head.find("\r\n", start);
        std::string_view line = head.substr(start, end - start);
        size_t colon = line.find(':');
        if (colon != std::string_view::npos && core::iequals(line.substr(0, colon), name))
            return trim(line.substr(colon + 1));
        pos = end;
    }
    return {};
}

}  // namespace

void serve_status(Context& ctx, const Request& req, std::string_view head, HeaderWriter& hw, Reply& reply) {
    bool plain = wants_plain_text(raw_header(head, "accept"));
    render_status(*ctx.stats, plain, ctx.now_ms, ctx.status_body);
    reply.status = 200;
    start_response(ctx, hw, 200);
    hw.field("Content-Type", plain ? "text/plain; version=0.0.4; charset=utf-8" : "application/json");
    hw.add("Content-Length: ").add_uint(ctx.status_body.size()).add("\r\nCache-Control: no-store\r\n");
    if (req.method != Method::kHead) {
        reply.mem = ctx.status_body;
        reply.mem_is_scratch = true;
    }
}

}  // namespace portico::http
