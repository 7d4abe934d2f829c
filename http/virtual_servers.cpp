#include "http/virtual_servers.hpp"

#include <fcntl.h>
#include <limits.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

namespace portico::http {
namespace {

struct OpenedRoot {
    int fd = -1;
    std::string real;
};

// Opens `path` as an O_PATH directory and resolves its real path. fd -1 when it cannot be
// opened; the caller decides whether that is fatal.
OpenedRoot open_root(const std::string& path, core::UniqueFd& owner, int& error) {
    owner.reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    error = owner ? 0 : errno;
    char real[PATH_MAX];
    if (!owner || ::realpath(path.c_str(), real) == nullptr) {
        if (owner) error = errno;
        owner.reset();
        return {};
    }
    return {owner.get(), real};
}

// Each directory once per worker, however many locations name it.
class RootTable {
public:
    explicit RootTable(Context& ctx) : ctx_(ctx) {}

    /// `server`'s own root is already open in it.
    OpenedRoot get(const VirtualServer& server, const std::string& path, bool required) {
        if (path == server.config->root) return {server.root_fd.get(), server.real_root};
        auto it = opened_.find(path);
        if (it != opened_.end()) return it->second;
        core::UniqueFd owner;
        int error = 0;
        OpenedRoot root = open_root(path, owner, error);
        if (root.fd < 0 && required)
            throw std::runtime_error("open() root \"" + path + "\" failed: " + std::strerror(error));
        if (root.fd < 0) {
            spdlog::warn("alias \"{}\" cannot be opened ({}): its requests are answered 404 until a reload", path,
                         std::strerror(error));
        }
        if (owner) ctx_.location_roots.push_back(std::move(owner));
        return opened_.emplace(path, root).first->second;
    }

private:
    Context& ctx_;
    std::map<std::string, OpenedRoot> opened_;
};

// Settings that need the routed path; root, index and dotfiles the straight path handles.
bool needs_routing(const conf::RouteSettings& r) {
    return r.try_files || r.return_action || (r.error_pages && !r.error_pages->empty()) ||
           (r.add_headers && !r.add_headers->empty()) ||
           (r.expires && r.expires->kind() != routing::Expires::Kind::kOff) || (r.access && !r.access->empty());
}

RouteRuntime runtime_for(const VirtualServer& vs, const conf::RouteSettings& settings,
                         const conf::LocationConfig* location, RootTable& roots) {
    RouteRuntime rt;
    rt.settings = &settings;
    rt.handler = settings.return_action               ? HandlerKind::kReturn
                 : settings.proxy && settings.proxy->pass ? HandlerKind::kProxy
                                                          : HandlerKind::kStatic;
    if (location && location->spec.is_prefix()) rt.match_prefix = static_cast<uint32_t>(location->spec.text.size());
    rt.alias = settings.alias.has_value();
    OpenedRoot root = rt.alias ? roots.get(vs, *settings.alias, false) : roots.get(vs, *settings.root, true);
    rt.root_fd = root.fd;
    rt.real_root = root.real;
    if (rt.alias) rt.alias_prefix = location->spec.text;
    return rt;
}

VirtualServer open_server(const conf::ServerConfig& s) {
    VirtualServer vs;
    vs.config = &s;
    int error = 0;
    OpenedRoot root = open_root(s.root, vs.root_fd, error);
    if (root.fd < 0) throw std::runtime_error("open() root \"" + s.root + "\" failed: " + std::strerror(error));
    vs.real_root = root.real;
    vs.plain = !s.matcher && !needs_routing(s.route);
    vs.dotfiles_allowed = s.route.dotfiles == conf::Dotfiles::kAllow;
    return vs;
}

}  // namespace

void open_virtual_servers(const conf::Config& config, Context& ctx) {
    RootTable roots(ctx);
    for (const conf::ServerConfig& s : config.servers) {
        VirtualServer vs = open_server(s);
        vs.own = runtime_for(vs, s.route, nullptr, roots);
        for (const conf::LocationConfig& location : s.locations)
            vs.locations.push_back(runtime_for(vs, location.settings, &location, roots));
        ctx.servers.push_back(std::move(vs));
    }
}

}  // namespace portico::http
