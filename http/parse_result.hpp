#pragma once
// The answer of every incremental parser in http/.

#include <cstdint>

namespace portico::http {

/// kDone: complete; kNeedMore: every byte given was used, call again with more; kError: the
/// input is invalid, and the parser says which status to answer with.
enum class ParseResult : uint8_t { kDone, kNeedMore, kError };

}  // namespace portico::http
