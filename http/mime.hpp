#pragma once
// File extension -> media type, from a mime.types file (Debian's /etc/mime.types).

#include <string>
#include <string_view>
#include <unordered_map>

#include "core/strings.hpp"

namespace portico::http {

class MimeTypes {
public:
    /// Reads `path` ("type ext ext ..." lines, '#' comments). Throws std::runtime_error if the
    /// file cannot be read. A few essential web types are built in and win over the file when
    /// it lacks them.
    MimeTypes(const std::string& path, std::string default_type);
    /// The type for a file name (by its last extension, case-insensitive), or the default.
    [[nodiscard]] std::string_view lookup(std::string_view file_name) const noexcept;
    [[nodiscard]] size_t size() const noexcept { return by_ext_.size(); }

private:
    std::unordered_map<std::string, std::string, core::StringHash, std::equal_to<>> by_ext_;
    std::string default_type_;
};

}  // namespace portico::http
