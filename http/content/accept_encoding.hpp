#pragma once
// Accept-Encoding (RFC 9110 §12.5.3), parsed without allocation into spans of the header value,
// and the choice of which representation to serve.
//
//   Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] )
//   codings         = content-coding / "identity" / "*"
//   qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//
// Policy (chosen here, tested in accept_encoding_test.cpp):
// - A malformed member (a bad token, a bad or out-of-range q-value, any parameter other than q)
//   is ignored, and the rest of the header still counts. Ignoring a member can only take a
//   coding away, so a sloppy client gets identity rather than a coding it cannot decode, and one
//   odd member does not cost it the gzip it asked for correctly.
// - Codings compare case-insensitively ("GZIP" is gzip); "x-gzip" is gzip (RFC 9110 §8.4.1.3).
// - A repeated coding: the first occurrence counts. Members past kMaxMembers are ignored (bounded
//   work for hostile headers; real browsers send three or four).
// - Repeated header fields are one list: the caller joins their values with ", " (empty list
//   elements, as in "gzip, , br", are allowed by the list syntax and skipped).
// - An empty (but present) header means "identity only". An absent header is the caller's
//   business: the issue wants identity then, as nginx does.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace portico::http::content {

class AcceptEncoding {
public:
    static constexpr size_t kMaxMembers = 16;
    /// q-values in thousandths: 1000 is q=1, 0 is "not acceptable".
    static constexpr uint16_t kQOne = 1000;

    /// Parses `value` (the joined field values). `value` must outlive this object: members are
    /// views into it. Never fails: malformed members are dropped (see the policy above).
    explicit AcceptEncoding(std::string_view value) noexcept;

    /// The q-value (0..1000) the client gives `coding` (a content coding such as "gzip", not
    /// "identity"): its own member, else "*", else 0.
    [[nodiscard]] uint16_t quality(std::string_view coding) const noexcept;

    /// Whether the unencoded representation is acceptable: yes unless "identity;q=0", or
    /// "*;q=0" with no member for identity.
    [[nodiscard]] bool identity_acceptable() const noexcept;

    /// identity's own q-value when a member names it, else -1 (then it ranks below every coding
    /// the client listed with q > 0: it is acceptable "by default", not preferred).
    [[nodiscard]] int identity_quality() const noexcept;

    [[nodiscard]] size_t size() const noexcept { return count_; }

private:
    struct Member {
        std::string_view coding;  // as sent; compare case-insensitively
        uint16_t q;
    };
    void add(std::string_view coding, uint16_t q) noexcept;
    [[nodiscard]] const Member* find(std::string_view coding) const noexcept;

    std::array<Member, kMaxMembers> members_{};
    size_t count_ = 0;
};

/// What to send for one request.
struct Selection {
    enum class Kind : uint8_t {
        kIdentity,       // the unencoded bytes
        kEncoded,        // `coding` (one of the available ones)
        kNotAcceptable,  // nothing acceptable: RFC 9110 allows 406 or identity anyway; nginx
                         // always sends identity, and so should the caller (see README)
    };
    Kind kind = Kind::kIdentity;
    std::string_view coding;  // set for kEncoded: a view of the preference list's element
};

/// Picks the representation: the available coding with the highest q-value, ties broken by the
/// server's `preference` order (most preferred first); identity wins only when it is listed with
/// a higher q-value than every acceptable coding, or when no coding is acceptable. `available`
/// lists the codings this resource has (precompressed siblings found, or compressible on the
/// fly); codings in `preference` but not in `available` are skipped. Names compare
/// case-insensitively.
Selection select_encoding(const AcceptEncoding& accept, std::span<const std::string_view> preference,
                          std::span<const std::string_view> available) noexcept;

}  // namespace portico::http::content
