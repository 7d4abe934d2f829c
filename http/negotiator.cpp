#include "http/negotiator.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/strings.hpp"
#include "http/compressing_stream.hpp"
#include "http/conditional.hpp"
#include "http/content/accept_encoding.hpp"
#include "http/content/precompressed.hpp"
#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/file_cache.hpp"
#include "http/header_writer.hpp"
#include "http/static_handler.hpp"
#include "http/status.hpp"

namespace portico::http {

using content::Coding;

namespace {

// A cache entry's file as a path for log lines: its key is the root, a NUL, then the path.
std::string file_name(const CachedFile& f) {
    std::string name = f.key;
    std::erase(name, '\0');
    return name;
}


constexpr size_t kMaxStaleLogged = 4096;  // versions remembered as logged; then forgotten at once
constexpr size_t kMaxOptions = 4;         // two siblings and two on-the-fly codings at most

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

struct stat stat_of(const CachedFile& f) noexcept {
    struct stat st {};
    st.st_mode = f.kind == CachedFile::Kind::kFile ? S_IFREG : S_IFDIR;
    st.st_mtim = f.mtime;
    return st;
}

content::FileVersion version_of(const CachedFile& f) noexcept {
    return {f.dev, f.ino, static_cast<off_t>(f.size),
            static_cast<int64_t>(f.mtime.tv_sec) * 1'000'000'000 + f.mtime.tv_nsec};
}

void start(Context& ctx, HeaderWriter& hw, uint16_t status) noexcept {
    hw.add(status_line(status)).add(ctx.date.server_and_date_lines());
}

void content_type(HeaderWriter& hw, const content::ContentPolicy& policy, std::string_view type) noexcept {
    hw.add("Content-Type: ").add(type);
    if (content::TypeRules::wants_charset(type, policy.charset)) hw.add("; charset=").add(policy.charset);
    hw.add("\r\n");
}

}  // namespace

/// One representation this resource has besides identity.
struct Negotiator::Option {
    Coding coding;
    CachedFile* sibling = nullptr;                     // a precompressed file, or
    const content::CompressionRule* rule = nullptr;    // compressed on the fly
};

/// The representation a response sends: its validators, its bytes, its coding.
struct Negotiator::View {
    CachedFile& body;           // the file whose bytes (or descriptor) are sent
    std::string_view encoding;  // empty for identity
    std::string_view etag;
    bool vary;
};

Negotiator::Negotiator(size_t cache_bytes)
    : cache_(cache_bytes, content::CompressOptions{}), once_max_(std::min<uint64_t>(kCompressOnceMax, cache_bytes / 4)) {}

Negotiator::~Negotiator() { release_held(); }

void Negotiator::hold(CachedFile* f) noexcept {
    FileCache::ref(f);
    held_.push_back(f);
}

void Negotiator::release_held() noexcept {
    for (CachedFile* f : held_) FileCache::release(f);
    held_.clear();
    sending_.reset();
}

// The Accept-Encoding value: the field's own when it occurs once, else the fields joined with
// ", " (RFC 9110 5.3). The parser keeps no copy of it, so it is read from the validated head.
std::string_view Negotiator::accept_encoding(std::string_view head, bool& present) {
    std::string_view first;
    present = false;
    size_t pos = head.find("\r\n");  // skip the request line
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        size_t begin = pos + 2, end = head.find("\r\n", begin);
        std::string_view line = head.substr(begin, end - begin);
        pos = end;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || !core::iequals(line.substr(0, colon), "accept-encoding")) continue;
        std::string_view value = trim(line.substr(colon + 1));
        if (!present) {
            present = true;
            first = value;
            continue;
        }
        if (joined_.empty() || first.data() != joined_.data()) joined_.assign(first);
        joined_.append(", ").append(value);
        first = joined_;
    }
    return first;
}

// The fresh `coding` sibling of the file (file.gz, file.br), through the file cache; null when
// there is none or it is older than the file (logged once per version of the two).
CachedFile* Negotiator::sibling(Context& ctx, const FileTarget& t, Coding coding) {
    path_.assign(t.path).append(content::coding_suffix(coding));
    CachedFile* s = ctx.files.lookup(t.root_fd, t.root, path_, ctx.now_ms);
    if (s->kind != CachedFile::Kind::kFile) return nullptr;
    if (!content::precompressed_fresh(stat_of(t.file), stat_of(*s))) {
        std::string key = fmt::format("{}|{}.{}|{}.{}", s->key, s->mtime.tv_sec, s->mtime.tv_nsec,
                                      t.file.mtime.tv_sec, t.file.mtime.tv_nsec);
        if (stale_logged_.size() >= kMaxStaleLogged) stale_logged_.clear();
        if (stale_logged_.insert(std::move(key)).second)
            spdlog::info("'{}' is older than '{}': not served for it until it is made again", file_name(*s), file_name(t.file));
        return nullptr;
    }
    hold(s);
    return s;
}

bool Negotiator::serve(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t, HeaderWriter& hw,
                       Reply& reply) {
    release_held();
    hold(&t.file);  // the siblings' lookups must not evict it
    std::array<Option, kMaxOptions> options;
    size_t count = 0;
    auto listed = [&](Coding c) {
        for (size_t i = 0; i < count; ++i)
            if (options[i].coding == c) return true;
        return false;
    };
    for (Coding c : policy.precompressed)
        if (CachedFile* s = sibling(ctx, t, c)) options[count++] = {c, s, nullptr};
    size_t siblings = count;
    for (const content::CompressionRule& rule : policy.on_the_fly)
        if (!listed(rule.coding) && count < kMaxOptions && rule.rules.should_compress(t.file.content_type, t.file.size))
            options[count++] = {rule.coding, nullptr, &rule};
    if (count == 0 && !content::TypeRules::wants_charset(t.file.content_type, policy.charset)) return false;

    // Ranges are served from a file, never from a compressor: on-the-fly options drop out.
    bool on_the_fly_ok = t.req.range.empty() || t.req.method == Method::kHead;
    const Option* chosen = nullptr;
    bool present = false;
    std::string_view value = accept_encoding(t.head, present);
    if (present && count > 0) {
        std::array<std::string_view, kMaxOptions> preference, available;
        size_t n_available = 0;
        for (size_t i = 0; i < count; ++i) {
            preference[i] = content::coding_name(options[i].coding);
            if (i < siblings || on_the_fly_ok) available[n_available++] = preference[i];
        }
        content::AcceptEncoding accept(value);
        content::Selection sel = content::select_encoding(accept, {preference.data(), count},
                                                          {available.data(), n_available});
        if (sel.kind == content::Selection::Kind::kEncoded)
            for (size_t i = 0; i < count; ++i)
                if (sel.coding == preference[i]) chosen = &options[i];
    }
    bool vary = count > 0;
    if (chosen == nullptr) {
        serve_view(ctx, policy, t, {t.file, {}, t.file.etag, vary}, hw, reply);
    } else if (chosen->sibling != nullptr) {
        etag_ = content::CompressedCache::derive_etag(chosen->sibling->etag, chosen->coding);
        serve_view(ctx, policy, t, {*chosen->sibling, content::coding_name(chosen->coding), etag_, true}, hw, reply);
    } else {
        serve_on_the_fly(ctx, policy, t, *chosen->rule, hw, reply);
    }
    return true;
}

// What serve_file does for the file itself, for any representation held in a file: 304, 206 or
// 416 for a Range, 200; with the original's Content-Type and the representation's validators.
void Negotiator::serve_view(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t, const View& v,
                            HeaderWriter& hw, Reply& reply) {
    const Request& req = t.req;
    const char* head = t.head.data();
    bool head_only = req.method == Method::kHead;
    CachedFile& f = v.body;
    if (!preconditions_hold(req, head, v.etag, f.mtime.tv_sec)) {
        build_error(ctx, 412, head_only, v.vary ? "Vary: Accept-Encoding\r\n" : "", hw, reply);
        return;
    }
    reply.file = &f;
    auto validators = [&] {
        hw.field("Last-Modified", f.last_modified).field("ETag", v.etag);
        if (v.vary) hw.add("Vary: Accept-Encoding\r\n");
    };
    bool not_modified = false;
    time_t since;
    if (!req.if_none_match.empty()) not_modified = etag_list_matches(req.if_none_match.in(head), v.etag);
    else if (!req.if_modified_since.empty() && core::parse_http_date(req.if_modified_since.in(head), since))
        not_modified = f.mtime.tv_sec <= since;
    if (not_modified) {
        reply.status = 304;
        start(ctx, hw, 304);
        validators();
        return;
    }
    uint64_t first = 0, last = 0;
    bool if_range = req.if_range.empty() || if_range_matches(req.if_range.in(head), v.etag, f.mtime.tv_sec);
    int range = req.range.empty() || head_only || !if_range ? 0 : parse_range(req.range.in(head), f.size, first, last);
    if (range < 0) {
        char extra[96];
        HeaderWriter cr(extra, sizeof extra);
        cr.add("Content-Range: bytes */").add_uint(f.size).add("\r\n");
        if (v.vary) cr.add("Vary: Accept-Encoding\r\n");
        build_error(ctx, 416, head_only, cr.view(), hw, reply);
        return;
    }
    if (range == 0) first = 0, last = f.size - 1;
    uint64_t length = f.size == 0 ? 0 : last - first + 1;
    reply.status = range == 0 ? 200 : 206;
    start(ctx, hw, reply.status);
    content_type(hw, policy, t.file.content_type);
    if (!v.encoding.empty()) hw.field("Content-Encoding", v.encoding);
    hw.add("Content-Length: ").add_uint(length).add("\r\n");
    if (range != 0)
        hw.add("Content-Range: bytes ").add_uint(first).add("-").add_uint(last).add("/").add_uint(f.size).add("\r\n");
    validators();
    hw.add("Accept-Ranges: bytes\r\n");
    if (head_only || length == 0) return;
    if (f.has_body) {
        reply.mem = std::string_view(f.body).substr(first, length);
    } else {
        reply.file_offset = first;
        reply.file_length = length;
    }
}

// The file's `rule.coding` representation made now: 304 on its own ETag (nothing compressed),
// else compressed once and kept (small files) or compressed as a chunked stream (large ones).
void Negotiator::serve_on_the_fly(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t,
                                  const content::CompressionRule& rule, HeaderWriter& hw, Reply& reply) {
    const Request& req = t.req;
    const char* head = t.head.data();
    CachedFile& f = t.file;
    bool head_only = req.method == Method::kHead;
    etag_ = content::CompressedCache::derive_etag(f.etag, rule.coding);
    auto validators = [&] {
        hw.field("Last-Modified", f.last_modified).field("ETag", etag_).add("Vary: Accept-Encoding\r\n");
    };
    if (!preconditions_hold(req, head, etag_, f.mtime.tv_sec)) {
        build_error(ctx, 412, head_only, "Vary: Accept-Encoding\r\n", hw, reply);
        return;
    }
    time_t since;
    bool not_modified = req.if_none_match.empty()
                            ? !req.if_modified_since.empty() &&
                                  core::parse_http_date(req.if_modified_since.in(head), since) &&
                                  f.mtime.tv_sec <= since
                            : etag_list_matches(req.if_none_match.in(head), etag_);
    if (not_modified) {
        reply.status = 304;
        start(ctx, hw, 304);
        validators();
        return;
    }
    std::shared_ptr<const content::Representation> rep;
    if (f.has_body || f.size <= once_max_) {
        rep = compress_once(t, rule);
        if (!rep || !rep->compressed) return serve_view(ctx, policy, t, {f, {}, f.etag, true}, hw, reply);
    } else if (!head_only) {
        reply.stream = CompressingStream::create(f, rule.coding, rule.options);
        if (!reply.stream) return serve_view(ctx, policy, t, {f, {}, f.etag, true}, hw, reply);
    }
    reply.status = 200;
    start(ctx, hw, 200);
    content_type(hw, policy, f.content_type);
    hw.field("Content-Encoding", content::coding_name(rule.coding));
    validators();
    if (!rep) {
        // A stream: the connection frames it. HEAD gets the head GET would have.
        if (head_only && req.version_minor == 1) hw.add("Transfer-Encoding: chunked\r\n");
        return;
    }
    hw.add("Content-Length: ").add_uint(rep->bytes.size()).add("\r\n");
    if (head_only) return;
    sending_ = rep;  // kept until the connection has sent or copied it
    reply.mem = rep->bytes;
    reply.mem_is_scratch = true;  // the cache may drop it before a slow client takes it all
}

// The representation of a file small enough to keep compressed, made only when this version is
// not held yet; a file the file cache does not hold in memory is read whole for it.
std::shared_ptr<const content::Representation> Negotiator::compress_once(const FileTarget& t,
                                                                         const content::CompressionRule& rule) {
    const CachedFile& f = t.file;
    content::FileVersion version = version_of(f);
    if (auto hit = cache_.find(version, rule.coding, rule.options)) return hit;
    std::string_view original = f.body;
    if (!f.has_body) {
        whole_.resize(f.size);
        size_t got = 0;
        while (got < whole_.size()) {
            ssize_t n = ::pread(f.fd, whole_.data() + got, whole_.size() - got, static_cast<off_t>(got));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                if (n < 0) spdlog::error("pread() failed on '{}': {}", file_name(f), std::strerror(errno));
                return nullptr;  // shrank or failed: identity this time, compressed next time
            }
            got += static_cast<size_t>(n);
        }
        original = whole_;
    }
    auto rep = cache_.get(version, rule.coding, original, f.etag, rule.options);
    spdlog::debug("compressed '{}' as {}: {} -> {} bytes", file_name(f), content::coding_name(rule.coding), f.size,
                  rep->compressed ? rep->bytes.size() : f.size);
    return rep;
}

bool serve_negotiated(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t, HeaderWriter& hw,
                      Reply& reply) {
    if (!ctx.negotiator) ctx.negotiator = std::make_shared<Negotiator>(ctx.config.http.compressed_cache);
    return ctx.negotiator->serve(ctx, policy, t, hw, reply);
}

}  // namespace portico::http
