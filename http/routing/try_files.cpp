#include "http/routing/try_files.hpp"

#include <algorithm>

namespace portico::http::routing {

const ErrorPage* find_error_page(const std::vector<ErrorPage>& pages, uint16_t code) noexcept {
    for (const ErrorPage& p : pages) {
        if (p.code == code) return &p;
    }
    return nullptr;
}

bool is_normal_path(std::string_view path) noexcept {
    if (path.empty() || path.front() != '/') return false;
    for (char c : path) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    for (size_t start = 1; start <= path.size();) {
        size_t end = std::min(path.find('/', start), path.size());
        std::string_view segment = path.substr(start, end - start);
        if (segment == "." || segment == "..") return false;
        if (segment.empty() && end < path.size()) return false;  // "//"
        start = end + 1;
    }
    return true;
}

std::optional<std::string_view> alias_remainder(std::string_view prefix, std::string_view uri) noexcept {
    if (!uri.starts_with(prefix)) return std::nullopt;
    bool slash = !prefix.empty() && prefix.back() == '/';
    std::string_view rest = uri.substr(prefix.size() - (slash ? 1 : 0));
    if (!rest.empty() && rest.front() != '/') return std::nullopt;
    return rest;
}

namespace {

// "$uri/" for "/" makes "//", which means the same directory: collapse runs of slashes in place,
// as normalize_path does for request paths. Returns the new length.
size_t collapse_slashes(char* p, size_t n) noexcept {
    size_t out = 0;
    for (size_t i = 0; i < n; ++i) {
        if (p[i] == '/' && out > 0 && p[out - 1] == '/') continue;
        p[out++] = p[i];
    }
    return out;
}

}  // namespace

TryFilesOutcome run_try_files(const TryFiles& tf, const RequestVars& vars, FileProbe& probe, char* scratch,
                              size_t cap) noexcept {
    TryFilesOutcome out;
    for (const ValueTemplate& candidate : tf.candidates) {
        size_t n = candidate.expand(vars, scratch, cap);
        if (n == std::string_view::npos) return out;  // kRefused
        std::string_view uri(scratch, collapse_slashes(scratch, n));
        if (!is_normal_path(uri)) continue;
        bool want_directory = uri.back() == '/';
        Found found = probe.probe(uri);
        if (found == (want_directory ? Found::kDirectory : Found::kFile)) {
            out.kind = TryFilesOutcome::Kind::kServe;
            out.uri = uri;
            return out;
        }
    }
    if (!tf.uri) {
        out.kind = TryFilesOutcome::Kind::kStatus;
        out.code = tf.code;
        return out;
    }
    size_t n = tf.uri->expand(vars, scratch, cap);
    if (n == std::string_view::npos) return out;
    std::string_view target(scratch, collapse_slashes(scratch, n));
    size_t question = target.find('?');
    std::string_view path = target.substr(0, question);
    if (!is_normal_path(path)) {
        out.code = 400;
        return out;
    }
    out.kind = TryFilesOutcome::Kind::kRedirect;
    out.uri = path;
    out.args = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    return out;
}

}  // namespace portico::http::routing
