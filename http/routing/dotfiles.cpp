#include "http/routing/dotfiles.hpp"

namespace portico::http::routing {

bool is_hidden_path(std::string_view path) noexcept {
    if (path == "/.well-known" || path.starts_with("/.well-known/")) return false;
    for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
        if (slash + 1 < path.size() && path[slash + 1] == '.') return true;
    }
    return false;
}

}  // namespace portico::http::routing
