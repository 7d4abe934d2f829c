#pragma once
// A compiled PCRE2 pattern (JIT where the platform has it) and the per-worker match data that
// every match writes its captures into, so that matching never allocates.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;

namespace portico::http::routing {

/// The groups a request can refer to: $0 (the whole match) and $1..$9.
inline constexpr uint32_t kMaxCaptures = 10;

/// Where one match put its groups: offsets into `subject`, which must outlive every use.
struct Captures {
    std::string_view subject;
    const size_t* ovector = nullptr;  ///< pairs (start, end); PCRE2_UNSET for a group that did not take part
    uint32_t count = 0;               ///< pairs that are valid, $0 included; 0: no captures at all

    /// Group `n` ($n), or an empty view when it does not exist or did not take part.
    [[nodiscard]] std::string_view group(uint32_t n) const noexcept;
};

/// The most backtracking steps one match may take. A pattern like "^(\w+\s?)*$" can take
/// exponential time on a crafted path; past this bound the match fails (and the request gets a
/// 500) instead of holding the worker's loop. Ordinary location regexes use a few dozen steps.
inline constexpr uint32_t kMatchLimit = 100'000;

/// Match data for one worker: room for kMaxCaptures groups and the match limit, allocated once.
/// Not copyable.
class MatchData {
public:
    MatchData();
    ~MatchData();
    MatchData(const MatchData&) = delete;
    MatchData& operator=(const MatchData&) = delete;

    [[nodiscard]] pcre2_real_match_data_8* get() const noexcept { return data_; }
    [[nodiscard]] pcre2_real_match_context_8* context() const noexcept { return context_; }

private:
    pcre2_real_match_data_8* data_;
    pcre2_real_match_context_8* context_;
};

class Regex {
public:
    /// Compiles `pattern` (caseless for nginx's `~*`) and JIT-compiles it when PCRE2 can. Returns
    /// nullptr and sets `problem` ("missing closing parenthesis at offset 3") when it does not compile.
    static std::unique_ptr<Regex> compile(std::string_view pattern, bool caseless, std::string& problem);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    /// Matches `subject`. Returns 1 and fills `out` (pointing into `md` and `subject`) on a match,
    /// 0 when there is none, -1 when PCRE2 gave up (e.g. the JIT stack ran out): the caller
    /// answers 500 rather than guessing. No allocation.
    int match(std::string_view subject, MatchData& md, Captures& out) const noexcept;

    [[nodiscard]] const std::string& pattern() const noexcept { return pattern_; }
    [[nodiscard]] bool jit() const noexcept { return jit_; }
    /// The capturing groups the pattern has, not counting $0.
    [[nodiscard]] uint32_t groups() const noexcept { return groups_; }

private:
    Regex(pcre2_real_code_8* code, std::string pattern) noexcept;

    pcre2_real_code_8* code_;
    std::string pattern_;
    bool jit_ = false;
    uint32_t groups_ = 0;
};

}  // namespace portico::http::routing
