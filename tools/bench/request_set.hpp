#pragma once
// The requests, written out once at start-up. For each target the buffer holds `pipeline`
// back-to-back copies of the same request, so a connection that may send k requests hands the
// kernel the first k copies in one send(), and nothing is formatted or allocated per request.
//
//   batch(t):  [ request | request | ... | request ]   (pipeline copies)
//              <- size(t) ->

#include "options.hpp"
#include "target.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace portico::bench {

class RequestSet {
public:
    RequestSet(const Options& options, const std::vector<Target>& targets);

    /// The copies for target `t`; valid for the set's lifetime.
    [[nodiscard]] const char* batch(size_t t) const noexcept { return batches_[t].data(); }
    /// Bytes in one request for target `t`.
    [[nodiscard]] size_t size(size_t t) const noexcept { return sizes_[t]; }
    /// Whether responses carry no body because the method is HEAD.
    [[nodiscard]] bool head() const noexcept { return head_; }

    /// One request, as sent. Exposed for tests and for --help-style inspection.
    static std::string build(const Options& options, const Target& target);

private:
    std::vector<std::string> batches_;
    std::vector<size_t> sizes_;
    bool head_ = false;
};

}  // namespace portico::bench
