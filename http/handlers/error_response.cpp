#include "http/handlers/error_response.hpp"

#include "http/status.hpp"

namespace portico::http {

void build_error(Context& ctx, uint16_t status, bool head_only, std::string_view extra, HeaderWriter& hw,
                 Reply& reply) {
    std::string_view page = error_page(status);
    ctx.error_fields.assign(extra);
    reply.status = status;
    reply.file = nullptr;
    reply.file_length = 0;
    start_response(ctx, hw, status);
    if (status == 204 || status == 304) {
        // No body may follow these (RFC 9110 15.3.5, 15.4.5), and a keep-alive client reads the
        // next response right after the head: a `try_files ... =304` says only the status.
        hw.add(extra);
        reply.mem = {};
        return;
    }
    hw.add("Content-Type: text/html\r\nContent-Length: ").add_uint(page.size()).add("\r\n").add(extra);
    reply.mem = head_only ? std::string_view() : page;
}

}  // namespace portico::http
