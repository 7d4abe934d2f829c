#pragma once
// Which responses to compress (the `types` list and `min_length` of a gzip/brotli block) and
// the charset rule of issue 9 §4. Built once per config generation; matching allocates nothing.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http::content {

class TypeRules {
public:
    /// `types`: media types matched exactly after lower-casing, parameters ignored on both sides
    /// ("text/html; charset=utf-8" matches "text/html"); "*" matches every type, as in nginx's
    /// gzip_types. `min_length`: bodies shorter than this are not worth compressing.
    TypeRules(const std::vector<std::string>& types, size_t min_length);

    /// Whether `content_type` is listed.
    [[nodiscard]] bool type_matches(std::string_view content_type) const noexcept;

    /// Whether a body of `length` bytes of `content_type` should be compressed.
    [[nodiscard]] bool should_compress(std::string_view content_type, size_t length) const noexcept {
        return length >= min_length_ && type_matches(content_type);
    }

    /// `content_type` with "; charset=<charset>" appended when it is a text type (text/*,
    /// application/javascript, application/json) that names no charset yet; unchanged
    /// otherwise, or when `charset` is empty (charset off).
    static std::string with_charset(std::string_view content_type, std::string_view charset);

    /// Whether with_charset() would append to `content_type`: the same rule, without building
    /// the string (the request path writes "; charset=" straight into the response head).
    static bool wants_charset(std::string_view content_type, std::string_view charset) noexcept;

    /// The media type alone: parameters dropped, whitespace trimmed (not lower-cased).
    static std::string_view media_type(std::string_view content_type) noexcept;

private:
    std::vector<std::string> types_;  // lower-case, no parameters
    bool any_ = false;
    size_t min_length_;
};

}  // namespace portico::http::content
