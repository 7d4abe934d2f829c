#pragma once
// Appends response header bytes into a fixed buffer. Overflow is sticky and checked once at the
// end, so the builders stay straight-line code.

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace portico::http {

class HeaderWriter {
public:
    HeaderWriter(char* buf, size_t cap) noexcept : begin_(buf), pos_(buf), end_(buf + cap) {}

    [[gnu::always_inline]] HeaderWriter& add(std::string_view s) noexcept {
        if (s.empty()) return *this;  // memcpy from an empty view's nullptr is undefined
        if (static_cast<size_t>(end_ - pos_) < s.size()) {
            overflow_ = true;
            return *this;
        }
        std::memcpy(pos_, s.data(), s.size());
        pos_ += s.size();
        return *this;
    }
    [[gnu::always_inline]] HeaderWriter& add_uint(uint64_t v) noexcept {
        auto r = std::to_chars(pos_, end_, v);
        if (r.ec != std::errc{}) overflow_ = true;
        else pos_ = r.ptr;
        return *this;
    }
    /// "Name: value\r\n"
    [[gnu::always_inline]] HeaderWriter& field(std::string_view name, std::string_view value) noexcept {
        return add(name).add(": ").add(value).add("\r\n");
    }
    void reset() noexcept {
        pos_ = begin_;
        overflow_ = false;
    }

    [[nodiscard]] bool overflow() const noexcept { return overflow_; }
    [[nodiscard]] std::string_view view() const noexcept { return {begin_, static_cast<size_t>(pos_ - begin_)}; }

private:
    char* begin_;
    char* pos_;
    char* end_;
    bool overflow_ = false;
};

}  // namespace portico::http
