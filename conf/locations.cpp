// A server's `locations` list: each entry's `match` in nginx's forms and its routing settings,
// compiled into the server's matcher; then the inheritance http -> server -> location.

#include <fmt/format.h>

#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

using http::routing::LocationMatcher;
using http::routing::MatchSpec;
using libconfig::Setting;

const std::array<OtherGroup, 1> kNotInLocation{{
    {kServerKeys, "in the server, outside 'locations'"},
}};

// nginx's alias replaces the matched prefix, so it only means something for a prefix; and the
// two must agree on the trailing slash, or "/files" + alias "/srv/files/" would let a request
// for "/files../x" climb to "/srv/x".
void check_alias(const GroupReader& g, const MatchSpec& spec, RouteSettings& settings) {
    if (!settings.alias) return;
    if (!spec.is_prefix()) {
        g.fail("alias",
               "is only allowed in a prefix location (\"/files/\" or \"^~ /files/\"); "
               "use root in exact and regex locations");
    }
    if (settings.root) g.fail("alias", "a location sets either root or alias, not both");
    std::string written = g.string("alias", "");
    bool alias_slash = written.ends_with('/'), prefix_slash = spec.text.ends_with('/');
    if (alias_slash != prefix_slash) {
        g.fail("alias",
               fmt::format("'{}' and the match '{}' must both end with '/' or neither", written, spec.text));
    }
    if (alias_slash && *settings.alias != "/") settings.alias->push_back('/');
}

LocationConfig read_location(const GroupReader& g, const std::filesystem::path& dir) {
    g.reject_unknown(kLocationKeys, kNotInLocation);
    if (g.find("match") == nullptr) {
        g.fail("match", "missing; every location needs one, e.g. match = \"/assets/\";");
    }
    LocationConfig location;
    location.match = g.string("match", "");
    location.where = where_is(g, "match");
    std::string problem;
    auto spec = MatchSpec::parse(location.match, problem);
    if (!spec) g.fail("match", problem);
    location.spec = std::move(*spec);
    location.settings = read_route_settings(g, RouteLevel::kLocation, dir);
    check_alias(g, location.spec, location.settings);
    check_proxy_pass(g, location.spec, location.settings);
    return location;
}

void read_locations(const GroupReader& server, const std::filesystem::path& dir, ServerConfig& config) {
    const Setting* list = server.find("locations");
    if (list == nullptr) return;
    if (!list->isList()) {
        server.fail("locations", "expected a list of groups: locations = ( { match = \"/\"; ... }, ... );");
    }
    auto matcher = std::make_shared<LocationMatcher>();
    for (int i = 0; i < list->getLength(); ++i) {
        const Setting& group = (*list)[i];
        std::string name = server.full_name(fmt::format("locations[{}]", i));
        if (!group.isGroup()) server.fail_at(group, name, "expected a group: { match = \"/\"; ... }");
        GroupReader reader = server.nested(group, name);
        config.locations.push_back(read_location(reader, dir));
        std::string problem;
        if (!matcher->add(config.locations.back().spec, static_cast<uint32_t>(i), problem)) {
            reader.fail("match", problem);
        }
    }
    if (!config.locations.empty()) config.matcher = std::move(matcher);
}

}  // namespace

void read_server_routing(const GroupReader& g, const std::filesystem::path& dir, ServerConfig& server) {
    server.route = read_route_settings(g, RouteLevel::kServer, dir);
    read_locations(g, dir, server);
}

void resolve_routing(Config& config) {
    for (ServerConfig& server : config.servers) {
        server.route.root = server.root;
        server.route.index = server.index;
        server.route.inherit(config.http.route);
        for (LocationConfig& location : server.locations) location.settings.inherit(server.route);
    }
}

}  // namespace portico::conf::detail
