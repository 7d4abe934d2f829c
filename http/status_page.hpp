#pragma once
// The status endpoint's body: every live worker's counters, as JSON or Prometheus text.

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::core {
class SharedStats;
}

namespace portico::http {

/// Replaces `out` with the status document. `prometheus` selects the text exposition format.
void render_status(const core::SharedStats& stats, bool prometheus, uint64_t now_ms, std::string& out);

/// True when an Accept header value asks for text/plain (Prometheus scrapers do).
bool wants_plain_text(std::string_view accept) noexcept;

}  // namespace portico::http
