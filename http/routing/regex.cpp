#include "http/routing/regex.hpp"

#include <fmt/format.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <new>

namespace portico::http::routing {

std::string_view Captures::group(uint32_t n) const noexcept {
    if (n >= count || ovector == nullptr) return {};
    size_t start = ovector[2 * n], end = ovector[2 * n + 1];
    if (start == PCRE2_UNSET || end < start || end > subject.size()) return {};
    return subject.substr(start, end - start);
}

MatchData::MatchData()
    : data_(pcre2_match_data_create(kMaxCaptures, nullptr)), context_(pcre2_match_context_create(nullptr)) {
    if (data_ == nullptr || context_ == nullptr) {
        pcre2_match_data_free(data_);
        pcre2_match_context_free(context_);
        throw std::bad_alloc();
    }
    pcre2_set_match_limit(context_, kMatchLimit);
}

MatchData::~MatchData() {
    pcre2_match_data_free(data_);
    pcre2_match_context_free(context_);
}

Regex::Regex(pcre2_code* code, std::string pattern) noexcept : code_(code), pattern_(std::move(pattern)) {
    // Without JIT (a platform PCRE2 has no JIT for) the interpreter still matches, only slower.
    jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
    pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &groups_);
}

Regex::~Regex() {
    pcre2_code_free(code_);
}

std::unique_ptr<Regex> Regex::compile(std::string_view pattern, bool caseless, std::string& problem) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    uint32_t options = caseless ? PCRE2_CASELESS : 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                     &error, &offset, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        problem = fmt::format("{} at offset {}", reinterpret_cast<const char*>(message), offset);
        return nullptr;
    }
    return std::unique_ptr<Regex>(new Regex(code, std::string(pattern)));
}

int Regex::match(std::string_view subject, MatchData& md, Captures& out) const noexcept {
    auto text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    int rc = jit_ ? pcre2_jit_match(code_, text, subject.size(), 0, 0, md.get(), md.context())
                  : pcre2_match(code_, text, subject.size(), 0, 0, md.get(), md.context());
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) return -1;
    out.subject = subject;
    out.ovector = pcre2_get_ovector_pointer(md.get());
    // rc == 0: more groups than the match data holds; the first kMaxCaptures are filled.
    out.count = rc == 0 ? kMaxCaptures : static_cast<uint32_t>(rc);
    return 1;
}

}  // namespace portico::http::routing
