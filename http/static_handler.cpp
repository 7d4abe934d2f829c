#include "http/static_handler.hpp"

#include <array>

#include "core/strings.hpp"
#include "http/conditional.hpp"
#include "http/negotiator.hpp"
#include "http/path.hpp"
#include "http/status.hpp"
#include "http/status_page.hpp"

namespace portico::http {
namespace {

constexpr std::string_view kAllow = "Allow: GET, HEAD\r\n";

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Host without port, for matching server_name: "Example.com:8080" -> "Example.com".
std::string_view host_name(std::string_view host) noexcept {
    if (!host.empty() && host.front() == '[') {
        size_t close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    size_t colon = host.rfind(':');
    return colon == std::string_view::npos ? host : host.substr(0, colon);
}

struct Target {
    std::string_view host;   // from an absolute-form target, else empty
    std::string_view path;   // raw (still encoded)
    std::string_view query;  // with its '?', or empty
};

// "http://h?q": the path is empty (RFC 3986 3.3), which is "/". Out of line and cold, so that
// origin-form targets pay nothing for it.
[[gnu::cold, gnu::noinline]] bool query_only(std::string_view t, Target& out) noexcept {
    out.path = "/";
    out.query = t.substr(0, t.find('#'));
    return true;
}

bool split_target(std::string_view t, Target& out) noexcept {
    if (t.size() > 7 && (core::iequals(t.substr(0, 7), "http://") || core::iequals(t.substr(0, 8), "https://"))) {
        t.remove_prefix(t[4] == ':' ? 7 : 8);
        size_t slash = t.find_first_of("/?");
        out.host = t.substr(0, slash);
        t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
        if (t.front() == '?') return query_only(t, out);
    }
    if (t.empty() || t.front() != '/') return false;
    size_t q = t.find_first_of("?#");
    out.path = t.substr(0, q);
    out.query = q == std::string_view::npos || t[q] == '#' ? std::string_view() : t.substr(q, t.find('#', q) - q);
    return true;
}

const VirtualServer& choose_server(Context& ctx, uint16_t listener, std::string_view host) noexcept {
    const auto& candidates = ctx.listener_servers[listener];
    std::string_view name = host_name(host);
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "example.com." is the same host
    for (uint16_t idx : candidates)
        for (const std::string& n : ctx.servers[idx].config->server_names)
            if (core::iequals(n, name)) return ctx.servers[idx];
    return ctx.servers[candidates.front()];
}

void start(Context& ctx, HeaderWriter& hw, uint16_t status) noexcept {
    hw.add(status_line(status)).add(ctx.date.server_and_date_lines());
}

void validators(HeaderWriter& hw, const CachedFile& f) noexcept {
    hw.field("Last-Modified", f.last_modified).field("ETag", f.etag);
}

bool not_modified(const Request& req, const char* head, const CachedFile& f) noexcept {
    if (!req.if_none_match.empty()) return etag_list_matches(req.if_none_match.in(head), f.etag);
    time_t since;
    if (!req.if_modified_since.empty() && core::parse_http_date(req.if_modified_since.in(head), since))
        return f.mtime.tv_sec <= since;
    return false;
}

// If-Range: the Range applies only if the validator still matches (a strong ETag, or the exact date).
bool if_range_holds(const Request& req, const char* head, const CachedFile& f) noexcept {
    return req.if_range.empty() || if_range_matches(req.if_range.in(head), f.etag, f.mtime.tv_sec);
}

void body_slice(const CachedFile& f, uint64_t first, uint64_t length, Reply& reply) noexcept {
    if (f.has_body) {
        reply.mem = std::string_view(f.body).substr(first, length);
    } else {
        reply.file_offset = first;
        reply.file_length = length;
    }
}

// Out of line and cold, so that the plain path pays only the pointer test in serve_file.
[[gnu::cold, gnu::noinline]] bool serve_content(Context& ctx, const Request& req, std::string_view head,
                                                const VirtualServer& vs, CachedFile& f, HeaderWriter& hw,
                                                Reply& reply) {
    FileTarget target{req, head, vs.root_fd.get(), vs.real_root, ctx.path_scratch, f};
    return serve_negotiated(ctx, *vs.config->route.content, target, hw, reply);
}

void serve_file(Context& ctx, const Request& req, std::string_view head_bytes, const VirtualServer& vs,
                CachedFile& f, HeaderWriter& hw, Reply& reply) {
    // Issue 9: encodings and charset. A route without a content policy pays this one test.
    if (vs.config->route.content) [[unlikely]]
        if (serve_content(ctx, req, head_bytes, vs, f, hw, reply)) return;
    const char* head = head_bytes.data();
    bool head_only = req.method == Method::kHead;
    reply.file = &f;
    if (not_modified(req, head, f)) {
        reply.status = 304;
        start(ctx, hw, 304);
        validators(hw, f);
        return;
    }
    uint64_t first = 0, last = 0;
    int range = req.range.empty() || head_only || !if_range_holds(req, head, f)
                    ? 0
                    : parse_range(req.range.in(head), f.size, first, last);
    if (range < 0) {
        char extra[64];
        HeaderWriter cr(extra, sizeof extra);
        cr.add("Content-Range: bytes */").add_uint(f.size).add("\r\n");
        build_error(ctx, 416, head_only, cr.view(), hw, reply);
        return;
    }
    if (range == 0) {
        reply.status = 200;
        start(ctx, hw, 200);
        hw.add(f.full_fields);
        if (!head_only) body_slice(f, 0, f.size, reply);
        return;
    }
    reply.status = 206;
    start(ctx, hw, 206);
    hw.field("Content-Type", f.content_type);
    hw.add("Content-Length: ").add_uint(last - first + 1).add("\r\n");
    hw.add("Content-Range: bytes ").add_uint(first).add("-").add_uint(last).add("/").add_uint(f.size).add("\r\n");
    validators(hw, f);
    hw.add("Accept-Ranges: bytes\r\n");
    body_slice(f, first, last - first + 1, reply);
}

// A directory asked for with its trailing slash: serve its first index file that exists.
void serve_index(Context& ctx, const Request& req, std::string_view head, const VirtualServer& vs, HeaderWriter& hw,
                 Reply& reply) {
    size_t dir_len = ctx.path_scratch.size();
    for (const std::string& index : vs.config->index) {
        ctx.path_scratch.resize(dir_len);
        ctx.path_scratch.append(index);
        CachedFile* f = ctx.files.lookup(vs.root_fd.get(), vs.real_root, ctx.path_scratch, ctx.now_ms);
        if (f->kind == CachedFile::Kind::kFile) return serve_file(ctx, req, head, vs, *f, hw, reply);
        if (f->kind != CachedFile::Kind::kMissing) {
            return build_error(ctx, f->kind == CachedFile::Kind::kError ? 500 : 403, req.method == Method::kHead,
                               {}, hw, reply);
        }
    }
    build_error(ctx, 403, req.method == Method::kHead, {}, hw, reply);  // no index and no listing
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

void serve_status(Context& ctx, const Request& req, std::string_view head, HeaderWriter& hw, Reply& reply) {
    bool plain = wants_plain_text(raw_header(head, "accept"));
    render_status(*ctx.stats, plain, ctx.now_ms, ctx.status_body);
    reply.status = 200;
    start(ctx, hw, 200);
    hw.field("Content-Type", plain ? "text/plain; version=0.0.4; charset=utf-8" : "application/json");
    hw.add("Content-Length: ").add_uint(ctx.status_body.size()).add("\r\nCache-Control: no-store\r\n");
    if (req.method != Method::kHead) {
        reply.mem = ctx.status_body;
        reply.mem_is_scratch = true;
    }
}

// Bytes a Location may carry as they are: RFC 3986 pchar without '%' (unreserved, sub-delims, ':'
// and '@'), plus '/'; the query also keeps '?' and the '%' of a well-formed escape. Everything
// else is percent-encoded, so no byte can turn the path into an authority ("//host", "/\host"),
// end the path early ('?', '#') or break the header.
constexpr std::array<bool, 256> kLocationSafe = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (unsigned char c : std::string_view("-._~!$&'()*+,;=:@/")) t[c] = true;
    return t;
}();

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void add_percent_encoded(HeaderWriter& hw, std::string_view s, bool query) noexcept {
    constexpr char kHex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.size(); ++i) {
        auto u = static_cast<unsigned char>(s[i]);
        bool escape = u == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2]);
        bool keep = kLocationSafe[u] || (query && (u == '?' || escape));
        if (keep) {
            hw.add(s.substr(i, 1));
        } else {
            const char esc[3] = {'%', kHex[u >> 4], kHex[u & 0xf]};
            hw.add({esc, 3});
        }
    }
}

// The Location is built from the normalised path, never from the raw target: "//evil.example/../img"
// must lead to "/img/", not to another host. It stays a path-absolute reference (one leading '/',
// no authority), so the redirect cannot leave the site whatever the request spelled.
void redirect_to_directory(Context& ctx, const Request& req, const Target& t, HeaderWriter& hw, Reply& reply) {
    char extra[16384];
    HeaderWriter loc(extra, sizeof extra);
    loc.add("Location: ");
    add_percent_encoded(loc, ctx.path_scratch, false);
    loc.add("/");
    add_percent_encoded(loc, t.query, true);
    loc.add("\r\n");
    if (loc.overflow()) return build_error(ctx, 414, req.method == Method::kHead, {}, hw, reply);
    build_error(ctx, 301, req.method == Method::kHead, loc.view(), hw, reply);
}

}  // namespace

void build_error(Context& ctx, uint16_t status, bool head_only, std::string_view extra, HeaderWriter& hw,
                 Reply& reply) {
    std::string_view page = error_page(status);
    reply.status = status;
    reply.file = nullptr;
    reply.file_length = 0;
    start(ctx, hw, status);
    hw.add("Content-Type: text/html\r\nContent-Length: ").add_uint(page.size()).add("\r\n").add(extra);
    reply.mem = head_only ? std::string_view() : page;
}

void handle_static(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply) {
    const Request& req = ex.req;
    std::string_view head_bytes = ex.head;
    uint16_t listener = ex.listener;
    const char* head = head_bytes.data();
    bool head_only = req.method == Method::kHead;
    // The method first: "OPTIONS *" learns what is allowed rather than that "*" is no path.
    if (req.method != Method::kGet && !head_only) return build_error(ctx, 405, false, kAllow, hw, reply);
    Target t;
    if (!split_target(req.target.in(head), t)) return build_error(ctx, 400, head_only, {}, hw, reply);

    const VirtualServer& vs = choose_server(ctx, listener, t.host.empty() ? req.host.in(head) : t.host);
    ctx.path_scratch.resize(t.path.size() + 1);
    size_t n = normalize_path(t.path, ctx.path_scratch.data(), ctx.path_scratch.size());
    if (n == 0) return build_error(ctx, 400, head_only, {}, hw, reply);
    ctx.path_scratch.resize(n);

    if (!vs.config->status_path.empty() && ctx.stats && ctx.path_scratch == vs.config->status_path)
        return serve_status(ctx, req, head_bytes, hw, reply);
    CachedFile* f = ctx.files.lookup(vs.root_fd.get(), vs.real_root, ctx.path_scratch, ctx.now_ms);
    switch (f->kind) {
        case CachedFile::Kind::kFile: return serve_file(ctx, req, head_bytes, vs, *f, hw, reply);
        case CachedFile::Kind::kDirectory:
            if (ctx.path_scratch.back() == '/') return serve_index(ctx, req, head_bytes, vs, hw, reply);
            return redirect_to_directory(ctx, req, t, hw, reply);
        case CachedFile::Kind::kMissing: return build_error(ctx, 404, head_only, {}, hw, reply);
        case CachedFile::Kind::kForbidden: return build_error(ctx, 403, head_only, {}, hw, reply);
        case CachedFile::Kind::kError: return build_error(ctx, 500, head_only, {}, hw, reply);
    }
}

}  // namespace portico::http
