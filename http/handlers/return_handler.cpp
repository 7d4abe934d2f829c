#include "http/handlers/return_handler.hpp"

#include "http/handlers/error_response.hpp"

namespace portico::http {
namespace {

// Room for an expanded value: a Location built from a long $request_uri still fits; what does
// not fit the header buffer ends in the connection's 500.
constexpr size_t kValueCap = 64 * 1024;

// A Location carries the expansion as it is, except bytes a header value must not hold raw: a
// decoded $uri may bring spaces and bytes above 0x7f (controls never get this far: the path
// normaliser refuses them). They are percent-encoded, as a browser would send them.
void add_location(HeaderWriter& hw, std::string_view url) noexcept {
    constexpr char kHex[] = "0123456789ABCDEF";
    hw.add("Location: ");
    size_t plain = 0;
    for (size_t i = 0; i < url.size(); ++i) {
        auto u = static_cast<unsigned char>(url[i]);
        // Controls, spaces and non-ASCII, and the backslash, which browsers read as a slash
        // ("/\\host" would leave the site).
        if (u > 0x20 && u < 0x7f && u != '\\') continue;
        hw.add(url.substr(plain, i - plain));
        const char esc[3] = {'%', kHex[u >> 4], kHex[u & 0xf]};
        hw.add({esc, 3});
        plain = i + 1;
    }
    hw.add(url.substr(plain)).add("\r\n");
}

}  // namespace

uint16_t serve_return(Context& ctx, const routing::ReturnAction& action, const routing::RequestVars& vars,
                      bool head_only, HeaderWriter& hw, Reply& reply, uint16_t status) {
    if (!action.redirect && action.code >= 400 && action.value.text().empty()) return action.code;
    if (ctx.value_scratch.size() < kValueCap) ctx.value_scratch.resize(kValueCap);
    size_t n = action.value.expand(vars, ctx.value_scratch.data(), ctx.value_scratch.size());
    if (n == std::string_view::npos) return 500;
    std::string_view value(ctx.value_scratch.data(), n);
    if (action.redirect) {
        build_error(ctx, action.code, head_only, {}, hw, reply);
        add_location(hw, value);
        return 0;
    }
    const uint16_t code = status != 0 ? status : action.code;
    reply.status = code;
    reply.file = nullptr;
    start_response(ctx, hw, code);
    if (code == 204 || code == 304) return 0;  // no body, so no length either
    hw.add("Content-Type: text/plain\r\nContent-Length: ").add_uint(value.size()).add("\r\n");
    if (!head_only) {
        reply.mem = value;
        reply.mem_is_scratch = true;
    }
    return 0;
}

}  // namespace portico::http
