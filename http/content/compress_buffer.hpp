#pragma once
// One-shot compression of a whole buffer, for the compress-once-per-file-version cache.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "http/content/coding.hpp"
#include "http/content/compress_options.hpp"

namespace portico::http::content {

/// `input` compressed as `coding`, or nullopt when the result would be longer than
/// `max_output` bytes (the cache passes the original's size less one: compressing must pay)
/// or the codec fails. Gives brotli a window no larger than the input needs, so a small file
/// does not cost a large encoder state.
std::optional<std::string> compress_buffer(Coding coding, std::string_view input,
                                           const CompressOptions& options,
                                           size_t max_output = std::numeric_limits<size_t>::max());

}  // namespace portico::http::content
