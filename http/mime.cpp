#include "http/mime.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace portico::http {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

MimeTypes::MimeTypes(const std::string& path, std::string default_type) : default_type_(std::move(default_type)) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read mime types file '" + path + "'");
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string type, ext;
        if (!(words >> type)) continue;
        while (words >> ext) by_ext_.emplace(lower(ext), type);  // the first mapping of an extension wins
    }
    // Browsers need these exact types; older mime.types files may lack or differ on them.
    by_ext_.try_emplace("html", "text/html");
    by_ext_.try_emplace("css", "text/css");
    by_ext_.try_emplace("js", "text/javascript");
    by_ext_.try_emplace("svg", "image/svg+xml");
    by_ext_.try_emplace("wasm", "application/wasm");
}

std::string_view MimeTypes::lookup(std::string_view file_name) const noexcept {
    size_t dot = file_name.rfind('.');
    size_t slash = file_name.rfind('/');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return default_type_;
    char ext[32];
    std::string_view e = file_name.substr(dot + 1);
    if (e.empty() || e.size() >= sizeof ext) return default_type_;
    for (size_t i = 0; i < e.size(); ++i) ext[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(e[i])));
    auto it = by_ext_.find(std::string_view(ext, e.size()));
    return it == by_ext_.end() ? std::string_view(default_type_) : std::string_view(it->second);
}

}  // namespace portico::http
