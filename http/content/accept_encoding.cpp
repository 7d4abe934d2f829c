#include "http/content/accept_encoding.hpp"

#include <optional>

#include "http/content/coding.hpp"

namespace portico::http::content {
namespace {

// RFC 9110 §5.6.2 tchar.
constexpr bool is_tchar(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

constexpr bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// "x-gzip" is an alias a recipient ought to treat as gzip (RFC 9110 §8.4.1.3).
bool same_coding(std::string_view a, std::string_view b) noexcept {
    auto canonical = [](std::string_view s) { return iequals(s, "x-gzip") ? std::string_view("gzip") : s; };
    return iequals(canonical(a), canonical(b));
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<uint16_t> parse_qvalue(std::string_view s) noexcept {
    if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
    const bool one = s[0] == '1';
    if (s.size() == 1) return one ? AcceptEncoding::kQOne : 0;
    if (s[1] != '.' || s.size() > 5) return std::nullopt;
    uint16_t frac = 0, scale = 100;
    for (char c : s.substr(2)) {
        if (c < '0' || c > '9' || (one && c != '0')) return std::nullopt;
        frac = static_cast<uint16_t>(frac + (c - '0') * scale);
        scale /= 10;
    }
    return one ? AcceptEncoding::kQOne : frac;
}

// The weight part after the coding: empty, or ";" OWS "q=" qvalue. nullopt when malformed.
std::optional<uint16_t> parse_weight(std::string_view params) noexcept {
    params = trim(params);
    if (params.empty()) return AcceptEncoding::kQOne;
    if (params.front() != ';') return std::nullopt;
    params = trim(params.substr(1));
    if (params.size() < 2 || lower(params[0]) != 'q' || params[1] != '=') return std::nullopt;
    return parse_qvalue(params.substr(2));  // a second parameter makes this fail too
}

}  // namespace

AcceptEncoding::AcceptEncoding(std::string_view value) noexcept {
    while (!value.empty()) {
        const size_t comma = value.find(',');
        std::string_view element = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        element = trim(element);
        if (element.empty()) continue;  // "gzip, , br": empty list elements are allowed
        const size_t semi = element.find(';');
        const std::string_view coding = trim(element.substr(0, semi));
        const auto q = parse_weight(semi == std::string_view::npos ? "" : element.substr(semi));
        if (is_token(coding) && q) add(coding, *q);
    }
}

void AcceptEncoding::add(std::string_view coding, uint16_t q) noexcept {
    if (count_ == kMaxMembers || find(coding)) return;
    members_[count_++] = Member{coding, q};
}

const AcceptEncoding::Member* AcceptEncoding::find(std::string_view coding) const noexcept {
    for (size_t i = 0; i < count_; ++i)
        if (same_coding(members_[i].coding, coding)) return &members_[i];
    return nullptr;
}

uint16_t AcceptEncoding::quality(std::string_view coding) const noexcept {
    if (const Member* m = find(coding)) return m->q;
    if (const Member* star = find("*")) return star->q;
    return 0;
}

bool AcceptEncoding::identity_acceptable() const noexcept {
    if (const Member* m = find("identity")) return m->q > 0;
    if (const Member* star = find("*")) return star->q > 0;
    return true;
}

int AcceptEncoding::identity_quality() const noexcept {
    const Member* m = find("identity");
    return m ? m->q : -1;
}

Selection select_encoding(const AcceptEncoding& accept, std::span<const std::string_view> preference,
                          std::span<const std::string_view> available) noexcept {
    Selection best;
    int best_q = 0;  // a coding needs q > 0
    for (std::string_view coding : preference) {
        bool have = false;
        for (std::string_view a : available) have = have || same_coding(a, coding);
        if (!have) continue;
        const int q = accept.quality(coding);
        if (q > best_q) {  // strictly greater: an equal q keeps the server's earlier choice
            best_q = q;
            best = Selection{Selection::Kind::kEncoded, coding};
        }
    }
    const bool identity_ok = accept.identity_acceptable();
    if (best.kind == Selection::Kind::kEncoded && !(identity_ok && accept.identity_quality() > best_q))
        return best;
    if (identity_ok) return Selection{Selection::Kind::kIdentity, {}};
    return Selection{Selection::Kind::kNotAcceptable, {}};
}

std::optional<Coding> coding_from_name(std::string_view name) noexcept {
    if (same_coding(name, "gzip")) return Coding::kGzip;
    if (iequals(name, "br")) return Coding::kBrotli;
    return std::nullopt;
}

}  // namespace portico::http::content
