#pragma once
// try_files and the other internal redirects: candidates tried in order against the file
// system, then a URI to route again or a status; error pages; alias paths. Pure: the caller
// supplies what is on disk through a FileProbe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/routing/value_template.hpp"

namespace portico::http::routing {

/// Internal redirects one request may take (try_files fallbacks, error pages), as nginx; one
/// more ends the request with a 500 and a log line, so a loop in the config cannot spin.
inline constexpr int kMaxInternalRedirects = 10;

struct TryFiles {
    std::vector<ValueTemplate> candidates;  ///< "$uri", "$uri/": tried in order
    std::optional<ValueTemplate> uri;       ///< the last entry as an internal redirect,
    uint16_t code = 0;                      ///< or as "=CODE" (then uri is empty)
};

struct ErrorPage {
    uint16_t code = 0;
    std::string uri;  ///< the page, served by an internal redirect with the original status
};

/// The page for `code` in `pages`, or nullptr.
const ErrorPage* find_error_page(const std::vector<ErrorPage>& pages, uint16_t code) noexcept;

enum class Found : uint8_t { kFile, kDirectory, kNothing };

/// What a URI names on disk under the location's root or alias. The static handler implements
/// it over its file cache.
class FileProbe {
public:
    virtual Found probe(std::string_view uri) noexcept = 0;

protected:
    ~FileProbe() = default;
};

struct TryFilesOutcome {
    enum class Kind : uint8_t {
        kServe,     ///< `uri` exists as the candidate asked (a file, or a directory for "$uri/")
        kRedirect,  ///< route `uri` (with `args`) again: the last entry
        kStatus,    ///< answer `code`: the last entry was "=CODE"
        kRefused,   ///< the expansion did not fit (500), or the fallback made no normalised path
                    ///< (`code` 400: "/$args" with "../x" is the request's doing)
    };
    Kind kind = Kind::kRefused;
    std::string_view uri;   ///< in the caller's scratch
    std::string_view args;  ///< kRedirect: what followed a '?' in the last entry, else empty
    uint16_t code = 0;
};

/// Runs `tf` for `vars`, expanding each candidate into scratch[0, cap). A candidate that expands
/// to something other than a normalised path (see is_normal_path) is skipped, so captures cannot
/// make "/../". No allocation.
TryFilesOutcome run_try_files(const TryFiles& tf, const RequestVars& vars, FileProbe& probe, char* scratch,
                              size_t cap) noexcept;

/// True when `path` is what normalize_path() makes: starts with '/', no empty, "." or ".."
/// segments (a trailing slash is fine), no control bytes.
bool is_normal_path(std::string_view path) noexcept;

/// For nginx's alias: the part of `uri` after the location's `prefix`, as a path beneath the
/// alias ("/files/" + "/files/a/b" -> "/a/b"; "/files" + "/files/a" -> "/a"; "/files" + "/files"
/// -> ""). nullopt when the rest could not lie beneath it ("/files" + "/filesX"): answer 404.
std::optional<std::string_view> alias_remainder(std::string_view prefix, std::string_view uri) noexcept;

}  // namespace portico::http::routing
