// The `servers` list: listen addresses, names, document root and index files of each server,
// and the check that no two servers claim the same name on the same address.

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>
#include <utility>

#include "conf/defaults.hpp"
#include "conf/parse.hpp"
#include "conf/sections.hpp"
#include "conf/tls.hpp"

namespace portico::conf::detail {
namespace {

using libconfig::Setting;

const std::array<OtherGroup, 3> kNotInServer{{
    {kTopLevelKeys, "at the top level, outside 'servers'"},
    {kHttpKeys, "inside the 'http' group"},
    {kLocationKeys, "inside one of the server's 'locations'"},
}};

// Who already answers for a name on an address: (address, name) -> index of the server.
// A server without server_name claims the name "".
using NameClaims = std::map<std::pair<std::string, std::string>, int>;

ListenAddress read_one_listen(const GroupReader& g, const Element& e) {
    const Setting& s = *e.setting;
    if (s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64) {
        // `listen = 8080;` reads like the bare-port string "8080".
        long long port = s.getType() == Setting::TypeInt64 ? static_cast<long long>(s) : static_cast<int>(s);
        if (port < 1 || port > 65535) {
            g.fail_at(s, e.name, fmt::format("the port must be between 1 and 65535 (got {})", port));
        }
        return ListenAddress{"0.0.0.0", static_cast<uint16_t>(port), false};
    }
    if (s.getType() != Setting::TypeString) {
        g.fail_at(s, e.name, "expected a string like \"127.0.0.1:8080\"");
    }
    std::string text = g.string_of(e);
    auto parsed = parse_listen_address(text);
    if (!parsed.value) {
        g.fail_at(s, e.name, fmt::format("bad listen address '{}': {}", text, parsed.problem));
    }
    return *parsed.value;
}

std::vector<ListenAddress> read_listen(const GroupReader& g) {
    if (g.find("listen") == nullptr) {
        g.fail("listen", "missing; every server needs one, e.g. listen = \"127.0.0.1:8080\";");
    }
    std::vector<ListenAddress> result;
    for (const auto& element : g.elements("listen")) {
        ListenAddress address = read_one_listen(g, element);
        if (std::find(result.begin(), result.end(), address) != result.end()) {
            g.fail_at(*element.setting, element.name,
                      fmt::format("'{}' is listed twice", address.to_string()));
        }
        result.push_back(std::move(address));
    }
    if (result.empty()) {
        g.fail("listen", "must name at least one address");
    }
    return result;
}

// Names end up compared with the Host header, which is case-insensitive; whitespace or control
// characters could never match one and are surely a mistake.
std::vector<std::string> read_server_names(const GroupReader& g) {
    std::vector<std::string> names;
    for (const auto& element : g.elements("server_name")) {
        std::string name = g.string_of(element);
        if (name.empty()) {
            g.fail_at(*element.setting, element.name, "must not be empty; leave server_name out instead");
        }
        for (char& c : name) {
            if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
                g.fail_at(*element.setting, element.name, "must not contain spaces or control characters");
            }
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        if (std::find(names.begin(), names.end(), name) != names.end()) {
            g.fail_at(*element.setting, element.name, fmt::format("'{}' is listed twice", name));
        }
        names.push_back(std::move(name));
    }
    return names;
}

std::string read_root(const GroupReader& g, const std::filesystem::path& dir) {
    if (g.find("root") == nullptr) {
        g.fail("root", "missing; every server needs a document root");
    }
    std::string value = g.string("root", "");
    if (value.empty()) {
        g.fail("root", "must not be empty");
    }
    std::string path = resolve_path(dir, value);
    // Checked now so a typo fails at start-up (or reload) rather than as 404s in production.
    struct stat st {};
    int error = stat(path.c_str(), &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (error != 0) {
        g.fail("root",
               fmt::format("root '{}' is not a directory: {}", path, std::generic_category().message(error)));
    }
    return path;
}

// A server without `index` gets the default; one with it, exactly what it names.
std::vector<std::string> read_index(const GroupReader& g) {
    if (g.find("index") == nullptr) return {std::string{kDefaults.index}};
    return read_index_files(g);
}

// What a status_path must not hold, and why: it is compared with request paths after they are
// normalised, so anything a normalised path cannot contain would only make it unreachable.
std::string_view status_path_problem(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return "must start with '/'";
    }
    for (char c : path) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
            return "must not contain spaces or control characters";
        }
        if (c == '?' || c == '#') {
            return "must not contain '?' or '#'; it is a path, without query or fragment";
        }
        if (c == '%') {
            return "must not contain '%'; write the path as it reads, not percent-encoded";
        }
    }
    // Segments between the slashes: none may be empty ("//"), "." or "..". A trailing slash
    // leaves a last empty segment, which is allowed.
    for (size_t start = 1; start <= path.size();) {
        size_t end = std::min(path.find('/', start), path.size());
        std::string_view segment = path.substr(start, end - start);
        if (segment == "." || segment == "..") {
            return "must not contain \".\" or \"..\" segments";
        }
        if (segment.empty() && end < path.size()) {
            return "must not contain \"//\"";
        }
        start = end + 1;
    }
    return {};
}

std::string read_status_path(const GroupReader& g) {
    std::string path = g.string("status_path", kDefaults.status_path);
    if (path.empty()) {
        return path;  // no status endpoint
    }
    if (std::string_view problem = status_path_problem(path); !problem.empty()) {
        g.fail("status_path", fmt::format("'{}' {}", path, problem));
    }
    return path;
}

void claim_names(const GroupReader& g, const ServerConfig& server, int index, NameClaims& claims) {
    std::vector<std::string> names = server.server_names;
    if (names.empty()) {
        names.emplace_back();
    }
    for (const auto& address : server.listen) {
        for (const auto& name : names) {
            auto [it, inserted] = claims.emplace(std::pair{address.to_string(), name}, index);
            if (inserted) {
                continue;
            }
            g.fail("server_name",
                   name.empty() ? fmt::format("servers[{}] already listens on {} without a server_name; "
                                              "give one of them a server_name",
                                              it->second, address.to_string())
                                : fmt::format("server name '{}' on {} is already used by servers[{}]", name,
                                              address.to_string(), it->second));
        }
    }
}

ServerConfig read_server(const GroupReader& g, const std::filesystem::path& dir) {
    g.reject_unknown(kServerKeys, kNotInServer);
    ServerConfig server;
    server.listen = read_listen(g);
    server.server_names = read_server_names(g);
    server.root = read_root(g, dir);
    server.index = read_index(g);
    server.status_path = read_status_path(g);
    bool has_ssl = std::any_of(server.listen.begin(), server.listen.end(), [](const auto& a) { return a.ssl; });
    server.tls = read_tls(g, dir, has_ssl);
    read_server_routing(g, dir, server);
    return server;
}

}  // namespace

std::vector<ServerConfig> read_servers(const GroupReader& top, const std::filesystem::path& dir) {
    const Setting* list = top.find("servers");
    if (list == nullptr) {
        top.fail("servers",
                 "missing; at least one server is required, "
                 "e.g. servers = ( { listen = \"127.0.0.1:8080\"; root = \"www\"; } );");
    }
    if (!list->isList()) {
        top.fail("servers", "expected a list of groups: servers = ( { ... }, { ... } );");
    }
    if (list->getLength() == 0) {
        top.fail("servers", "at least one server is required");
    }
    std::vector<ServerConfig> servers;
    NameClaims claims;
    for (int i = 0; i < list->getLength(); ++i) {
        const Setting& group = (*list)[i];
        std::string name = fmt::format("servers[{}]", i);
        if (!group.isGroup()) {
            top.fail_at(group, name, "expected a group: { listen = ...; root = ...; }");
        }
        GroupReader reader = top.nested(group, name);
        ServerConfig server = read_server(reader, dir);
        check_tls_addresses(reader, server, servers);
        servers.push_back(std::move(server));
        claim_names(reader, servers.back(), i, claims);
    }
    return servers;
}

}  // namespace portico::conf::detail
