#pragma once
// Static files: a file, a directory's index, or the redirect that adds a directory's slash, from
// the file cache, beneath one root (a server's, a location's, or an alias).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"

namespace portico::http {

/// Where a static request's file lies, and what the client asked for it by.
struct StaticTarget {
    int root_fd = -1;                ///< the directory files are opened beneath
    std::string_view real_root;      ///< its real path (the file cache's key)
    std::string* path = nullptr;     ///< beneath the root; index names are appended to it
    /// The request's path as the client sees it: the redirect that adds a directory's slash is
    /// built from it, and its trailing slash says "serve the index". May view *path's bytes:
    /// it is read before *path changes.
    std::string_view uri;
    std::string_view query;          ///< with its '?', or empty
    const std::vector<std::string>* index = nullptr;
    conf::Autoindex autoindex = conf::Autoindex::kOff;  ///< a directory without index is listed
    /// Encodings and charset (issue 9), or null: a route without them pays this pointer's test.
    const content::ContentPolicy* content = nullptr;
    std::string_view request_head;   ///< the whole request head, for Accept-Encoding (with content)
};

/// Answers a GET or HEAD for `t`: writes the status line and every header field except
/// Connection into `hw`, fills `reply`, and returns 0. When the answer is an error that the
/// caller may want to answer its own way (error pages), writes nothing and returns the status:
/// 404 missing, 403 forbidden or a directory without index, 500 a failed open.
uint16_t serve_static(Context& ctx, const Request& req, const char* head, const StaticTarget& t, HeaderWriter& hw,
                      Reply& reply);

/// An error page: the regular file at `path` beneath `root_fd`, sent whole with `status` and the
/// status's own `fields` (whole lines, such as a 405's Allow): no ranges, no conditionals, no body
/// for HEAD. Returns false, having written nothing, when there is no such file.
bool serve_error_page(Context& ctx, int root_fd, std::string_view real_root, std::string_view path,
                      uint16_t status, std::string_view fields, bool head_only, HeaderWriter& hw, Reply& reply);

}  // namespace portico::http
