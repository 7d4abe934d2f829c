#include "http/handlers/static_files.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <spdlog/spdlog.h>

#include "core/strings.hpp"
#include "http/conditional.hpp"
#include "http/content/listing.hpp"
#include "http/handlers/error_response.hpp"
#include "http/negotiator.hpp"
#include "http/status.hpp"

namespace portico::http {
namespace {

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

// Out of line and cold, so that a route without a content policy pays only the pointer test.
[[gnu::cold, gnu::noinline]] bool serve_content(Context& ctx, const Request& req, const StaticTarget& t,
                                                CachedFile& f, HeaderWriter& hw, Reply& reply) {
    FileTarget target{req, t.request_head, t.root_fd, t.real_root, *t.path, f};
    return serve_negotiated(ctx, *t.content, target, hw, reply);
}

void serve_file(Context& ctx, const Request& req, const char* head, const StaticTarget& t, CachedFile& f,
                HeaderWriter& hw, Reply& reply) {
    // Issue 9: encodings and charset.
    if (t.content) [[unlikely]]
        if (serve_content(ctx, req, t, f, hw, reply)) return;
    bool head_only = req.method == Method::kHead;
    if (!preconditions_hold(req, head, f.etag, f.mtime.tv_sec)) return build_error(ctx, 412, head_only, {}, hw, reply);
    reply.file = &f;
    if (not_modified(req, head, f)) {
        reply.status = 304;
        start_response(ctx, hw, 304);
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
        start_response(ctx, hw, 200);
        hw.add(f.full_fields);
        if (!head_only) body_slice(f, 0, f.size, reply);
        return;
    }
    reply.status = 206;
    start_response(ctx, hw, 206);
    hw.field("Content-Type", f.content_type);
    hw.add("Content-Length: ").add_uint(last - first + 1).add("\r\n");
    hw.add("Content-Range: bytes ").add_uint(first).add("-").add_uint(last).add("/").add_uint(f.size).add("\r\n");
    validators(hw, f);
    hw.add("Accept-Ranges: bytes\r\n");
    body_slice(f, first, last - first + 1, reply);
}

// A directory without an index file, listed as autoindex says (issue 9). The head waits for the
// names (head_from_stream), so that a directory too large to list still gets a 500; HEAD waits
// for them too, for the same head as GET's.
uint16_t serve_listing(Context& ctx, const StaticTarget& t, std::string uri, std::string_view dir, Reply& reply) {
    int fd = ctx.files.open_directory(t.root_fd, t.real_root, dir);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) return 404;
        if (err == EACCES || err == EXDEV || err == ELOOP) return 403;
        spdlog::error("open() of directory \"{}\" failed: {}", dir, std::strerror(err));
        return 500;
    }
    content::DirectoryListing::Options options;
    options.format = t.autoindex == conf::Autoindex::kJson ? content::DirectoryListing::Format::kJson
                                                           : content::DirectoryListing::Format::kHtml;
    options.uri_path = std::move(uri);
    options.real_root = t.real_root;
    options.refused_page = error_page(500);
    options.date = &ctx.date;
    try {
        reply.stream = std::make_unique<content::DirectoryListing>(core::UniqueFd(fd), std::move(options));
    } catch (const std::bad_alloc&) {
        return 500;
    }
    reply.status = 200;
    reply.head_from_stream = true;
    return 0;
}

// A directory asked for with its trailing slash: serve its first index file that exists.
uint16_t serve_index(Context& ctx, const Request& req, const char* head, const StaticTarget& t, HeaderWriter& hw,
                     Reply& reply) {
    std::string& path = *t.path;
    size_t dir_len = path.size();
    // t.uri may view path's bytes, which the index names below may move: keep it for the listing.
    std::string uri = t.autoindex != conf::Autoindex::kOff ? std::string(t.uri) : std::string();
    for (const std::string& index : *t.index) {
        path.resize(dir_len);
        path.append(index);
        CachedFile* f = ctx.files.lookup(t.root_fd, t.real_root, path, ctx.now_ms);
        if (f->kind == CachedFile::Kind::kFile) {
            serve_file(ctx, req, head, t, *f, hw, reply);
            return 0;
        }
        if (f->kind != CachedFile::Kind::kMissing) return f->kind == CachedFile::Kind::kError ? 500 : 403;
    }
    path.resize(dir_len);
    if (t.autoindex != conf::Autoindex::kOff) return serve_listing(ctx, t, std::move(uri), path, reply);
    return 403;  // no index and no listing
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
void redirect_to_directory(Context& ctx, const Request& req, const StaticTarget& t, HeaderWriter& hw,
                           Reply& reply) {
    char extra[16384];
    HeaderWriter loc(extra, sizeof extra);
    loc.add("Location: ");
    add_percent_encoded(loc, t.uri, false);
    loc.add("/");
    add_percent_encoded(loc, t.query, true);
    loc.add("\r\n");
    if (loc.overflow()) return build_error(ctx, 414, req.method == Method::kHead, {}, hw, reply);
    build_error(ctx, 301, req.method == Method::kHead, loc.view(), hw, reply);
}

}  // namespace

uint16_t serve_static(Context& ctx, const Request& req, const char* head, const StaticTarget& t, HeaderWriter& hw,
                      Reply& reply) {
    CachedFile* f = ctx.files.lookup(t.root_fd, t.real_root, *t.path, ctx.now_ms);
    switch (f->kind) {
        case CachedFile::Kind::kFile: serve_file(ctx, req, head, t, *f, hw, reply); return 0;
        case CachedFile::Kind::kDirectory:
            if (t.uri.back() == '/') return serve_index(ctx, req, head, t, hw, reply);
            redirect_to_directory(ctx, req, t, hw, reply);
            return 0;
        case CachedFile::Kind::kMissing: return 404;
        case CachedFile::Kind::kForbidden: return 403;
        case CachedFile::Kind::kError: return 500;
    }
    return 500;
}

bool serve_error_page(Context& ctx, int root_fd, std::string_view real_root, std::string_view path,
                      uint16_t status, std::string_view fields, bool head_only, HeaderWriter& hw, Reply& reply) {
    CachedFile* f = ctx.files.lookup(root_fd, real_root, path, ctx.now_ms);
    if (f->kind != CachedFile::Kind::kFile) return false;
    reply.status = status;
    reply.file = f;
    start_response(ctx, hw, status);
    hw.field("Content-Type", f->content_type);
    hw.add("Content-Length: ").add_uint(f->size).add("\r\n").add(fields);
    if (!head_only) body_slice(*f, 0, f->size, reply);
    return true;
}

}  // namespace portico::http
