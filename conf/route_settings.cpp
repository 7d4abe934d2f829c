// The routing settings one group writes (http, a server, or a location): each value is parsed
// and compiled here, so a mistake fails `-t` and a reload with its file, line and setting.

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

using http::routing::AccessList;
using http::routing::Expires;
using http::routing::ReturnAction;
using http::routing::ValueTemplate;
using libconfig::Setting;

// Header names the server itself writes to frame the response; a second copy would break it.
constexpr std::array kReservedHeaders{"content-length"sv, "transfer-encoding"sv, "connection"sv};

bool token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower_copy(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
}

std::string read_directory(const GroupReader& g, std::string_view key, const std::filesystem::path& dir) {
    std::string value = g.string(key, "");
    if (value.empty()) g.fail(key, "must not be empty");
    std::string path = resolve_path(dir, value);
    // Checked now so a typo fails at start-up (or reload) rather than as 404s in production.
    struct stat st {};
    int error = stat(path.c_str(), &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (error != 0) {
        g.fail(key, fmt::format("'{}' is not a directory: {}", path, std::generic_category().message(error)));
    }
    return path;
}

// Not checked on disk, unlike root: an alias may name a directory that appears later.
std::string read_alias(const GroupReader& g, const std::filesystem::path& dir) {
    std::string value = g.string("alias", "");
    if (value.empty()) g.fail("alias", "must not be empty");  // "" would resolve to the config's directory
    return resolve_path(dir, value);
}


ValueTemplate compile_template(const GroupReader& g, const Element& e, const std::string& text) {
    std::string problem;
    auto t = ValueTemplate::compile(text, problem);
    if (!t) g.fail_at(*e.setting, e.name, problem);
    return std::move(*t);
}

// [ "$uri", "$uri/", "/index.html" ] or [ "$uri", "=404" ]: candidates, then a URI or "=CODE".
TryFiles read_try_files(const GroupReader& g) {
    auto elements = g.elements("try_files");
    if (elements.size() < 2) {
        g.fail("try_files",
               "needs at least two entries: files to try, then a URI or \"=CODE\", "
               "e.g. [ \"$uri\", \"$uri/\", \"/index.html\" ]");
    }
    TryFiles t;
    for (size_t i = 0; i + 1 < elements.size(); ++i) {
        std::string text = g.string_of(elements[i]);
        if (text.empty()) g.fail_at(*elements[i].setting, elements[i].name, "must not be empty");
        t.candidates.push_back(compile_template(g, elements[i], text));
    }
    const Element& last = elements.back();
    std::string text = g.string_of(last);
    if (text.starts_with("=")) {
        bool digits = text.size() == 4 &&
                      std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; });
        int code = digits ? std::stoi(text.substr(1)) : 0;
        if (code < 200 || code > 599)
            g.fail_at(*last.setting, last.name,
                      fmt::format("'{}' is not \"=CODE\" with a code from 200 to 599", text));
        t.code = static_cast<uint16_t>(code);
    } else if (!text.starts_with("/") && !text.starts_with("$")) {
        g.fail_at(
            *last.setting, last.name,
            fmt::format("'{}': the last entry is a URI (\"/index.html\") or \"=CODE\" (\"=404\")", text));
    } else {
        t.uri = compile_template(g, last, text);
    }
    return t;
}

ReturnAction read_return(const GroupReader& g) {
    std::string problem;
    auto action = ReturnAction::parse(g.string("return", ""), problem);
    if (!action) g.fail("return", problem);
    return std::move(*action);
}

// Codes must be errors or redirects the server could send; nginx takes 300..599 as well.
void read_one_error_page(const GroupReader& g, const Element& e, std::vector<ErrorPage>& pages) {
    std::string text = g.string_of(e);
    size_t uri_at = text.rfind(' ');
    std::string_view uri =
        uri_at == std::string::npos ? std::string_view() : std::string_view(text).substr(uri_at + 1);
    if (uri.empty() || uri.front() != '/' || uri.find_first_of("?#%$") != std::string_view::npos) {
        g.fail_at(*e.setting, e.name,
                  fmt::format("'{}' is not \"CODE... /page\", e.g. \"500 502 503 504 /50x.html\" "
                              "(the page is a path, without '?', '#', '%' or variables)",
                              text));
    }
    std::string_view codes = std::string_view(text).substr(0, uri_at);
    size_t before = pages.size();
    for (size_t start = 0; start < codes.size();) {
        size_t end = std::min(codes.find(' ', start), codes.size());
        std::string_view code = codes.substr(start, end - start);
        start = end + 1;
        if (code.empty()) continue;
        bool digits = code.size() == 3 &&
                      std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
        int value = digits ? std::stoi(std::string(code)) : 0;
        if (value < 300 || value > 599)
            g.fail_at(*e.setting, e.name, fmt::format("'{}' is not a status code from 300 to 599", code));
        auto same = [&](const ErrorPage& p) { return p.code == value; };
        if (std::any_of(pages.begin(), pages.end(), same))
            g.fail_at(*e.setting, e.name, fmt::format("code {} already has an error page", value));
        pages.push_back({static_cast<uint16_t>(value), std::string(uri)});
    }
    if (pages.size() == before) g.fail_at(*e.setting, e.name, fmt::format("'{}' names no status code", text));
}

std::vector<ErrorPage> read_error_pages(const GroupReader& g) {
    std::vector<ErrorPage> pages;
    for (const auto& element : g.elements("error_pages")) read_one_error_page(g, element, pages);
    return pages;
}

// [ "X-Frame-Options: DENY" ] -> "X-Frame-Options: DENY\r\n", checked so it cannot break the head.
std::string read_add_headers(const GroupReader& g) {
    std::string lines;
    for (const auto& element : g.elements("add_headers")) {
        std::string text = g.string_of(element);
        size_t colon = text.find(':');
        std::string_view name = std::string_view(text).substr(0, colon);
        std::string_view value =
            colon == std::string::npos ? std::string_view() : std::string_view(text).substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), token_char);
        bool value_ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
            return c == '\t' || (static_cast<unsigned char>(c) >= ' ' && c != 0x7f);
        });
        if (!name_ok || !value_ok) {
            g.fail_at(*element.setting, element.name,
                      fmt::format("'{}' is not \"Name: value\" (a token, then a "
                                  "value without control characters)",
                                  text));
        }
        std::string lower = lower_copy(name);
        if (std::find(kReservedHeaders.begin(), kReservedHeaders.end(), lower) != kReservedHeaders.end()) {
            g.fail_at(*element.setting, element.name,
                      fmt::format("'{}' is written by the server itself", name));
        }
        lines += fmt::format("{}: {}\r\n", name, value);
    }
    return lines;
}

Expires read_expires(const GroupReader& g) {
    std::string problem;
    auto expires = Expires::parse(g.string("expires", ""), problem);
    if (!expires) g.fail("expires", problem);
    return std::move(*expires);
}

AccessList read_access(const GroupReader& g) {
    AccessList list;
    for (const auto& element : g.elements("access")) {
        std::string problem;
        if (!list.add(g.string_of(element), problem)) g.fail_at(*element.setting, element.name, problem);
    }
    return list;
}

Dotfiles read_dotfiles(const GroupReader& g) {
    std::string value = g.string("dotfiles", "deny");
    if (value != "deny" && value != "allow")
        g.fail("dotfiles", fmt::format("must be \"deny\" or \"allow\" (got '{}')", value));
    return value == "allow" ? Dotfiles::kAllow : Dotfiles::kDeny;
}

Autoindex read_autoindex(const GroupReader& g) {
    std::string value = g.string("autoindex", "off");
    if (value == "off") return Autoindex::kOff;
    if (value == "html") return Autoindex::kHtml;
    if (value == "json") return Autoindex::kJson;
    g.fail("autoindex", fmt::format("must be \"off\", \"html\" or \"json\" (got '{}')", value));
}

}  // namespace

std::vector<std::string> read_index_files(const GroupReader& g) {
    std::vector<std::string> files;
    for (const auto& element : g.elements("index")) {
        std::string file = g.string_of(element);
        if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos) {
            g.fail_at(*element.setting, element.name,
                      fmt::format("'{}' is not a file name (no '/', '.' or '..')", file));
        }
        files.push_back(std::move(file));
    }
    if (files.empty()) g.fail("index", "must name at least one file");
    return files;
}

std::string where_is(const GroupReader& g, std::string_view key) {
    try {
        g.fail(key, "");
    } catch (const ConfigError& e) {
        std::string message = e.what();
        return message.substr(0, message.size() - 2);  // drop the ": " before the empty problem
    }
    return {};
}

RouteSettings read_route_settings(const GroupReader& g, RouteLevel level, const std::filesystem::path& dir) {
    RouteSettings r;
    bool location = level == RouteLevel::kLocation, http = level == RouteLevel::kHttp;
    if (location && g.find("root")) r.root = read_directory(g, "root", dir);
    if (location && g.find("alias")) r.alias = read_alias(g, dir);
    if (location && g.find("index")) r.index = read_index_files(g);
    if (!http && g.find("try_files")) r.try_files = read_try_files(g);
    if (!http && g.find("return")) r.return_action = read_return(g);
    if (g.find("error_pages")) r.error_pages = read_error_pages(g);
    if (g.find("add_headers")) r.add_headers = read_add_headers(g);
    if (g.find("expires")) r.expires = read_expires(g);
    if (g.find("access")) r.access = read_access(g);
    if (g.find("dotfiles")) r.dotfiles = read_dotfiles(g);
    r.proxy = read_proxy_settings(g, level);
    if (g.find("autoindex")) r.autoindex = read_autoindex(g);
    read_content_settings(g, r);  // issue 9
    return r;
}

}  // namespace portico::conf::detail

namespace portico::conf {

void RouteSettings::inherit(const RouteSettings& parent) {
    auto fill = [](auto& mine, const auto& theirs) {
        if (!mine && theirs) mine = theirs;
    };
    fill(root, parent.root);
    fill(index, parent.index);
    fill(try_files, parent.try_files);
    fill(return_action, parent.return_action);
    fill(error_pages, parent.error_pages);
    fill(add_headers, parent.add_headers);
    fill(expires, parent.expires);
    fill(access, parent.access);
    fill(dotfiles, parent.dotfiles);
    if (parent.proxy && proxy) {
        proxy->inherit(*parent.proxy);
    } else if (parent.proxy) {
        proxy = parent.proxy;
        proxy->pass.reset();  // never inherited; only locations have one anyway
    }
    fill(autoindex, parent.autoindex);
    fill(precompressed, parent.precompressed);
    fill(gzip, parent.gzip);
    fill(brotli, parent.brotli);
    fill(charset, parent.charset);
    compile_content();
}

}  // namespace portico::conf
