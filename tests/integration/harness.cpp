// Scratch directories, fixture files and config templates. Server and Client live in
// server.cpp and client.cpp.

#include "tests/integration/harness.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

namespace portico::test {

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/portico-it-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("mkdtemp() failed: " + std::string(std::strerror(errno)));
    // Absolute and free of symlinks, so the paths put into configs mean what they say.
    path_ = std::filesystem::canonical(tmpl).string();
}

TempDir::~TempDir() {
    std::error_code ec;  // a destructor has nobody to tell; leftovers in /tmp are harmless
    std::filesystem::remove_all(path_, ec);
}

void pace_retry() { ::poll(nullptr, 0, 20); }

std::string TempDir::operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

void write_file(const std::string& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void replace_file(const std::string& path, std::string_view bytes) {
    std::string tmp = path + ".tmp";
    write_file(tmp, bytes);
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error("rename() to " + path + " failed: " + std::strerror(errno));
}

std::string http_date(time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buf, n);
}

bool is_http_date(const std::string& text) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') return false;
    return http_date(::timegm(&tm)) == text;  // round trip: fixed widths, right weekday
}

time_t mtime_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mtim.tv_sec;
}

std::string pattern(size_t n, uint32_t seed) {
    std::string out(n, '\0');
    uint32_t state = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; ++i) {
        state = state * 1664525u + 1013904223u;  // an LCG: period 2^32, far beyond our file sizes
        out[i] = static_cast<char>(state >> 24);
    }
    return out;
}

uint16_t free_port() {
    // Ports handed out earlier in this process are skipped even if free again, so two servers of
    // one test never end up sharing a port through SO_REUSEPORT.
    static std::set<uint16_t> given;
    for (int attempt = 0; attempt < 50; ++attempt) {
        core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(fd.valid());
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
        uint16_t port = ntohs(a.sin_port);
        if (given.insert(port).second) return port;
    }
    FAIL("no free port found");
    return 0;
}

Site::Site() {
    www = dir / "www";
    www_b = dir / "www-b";
    std::filesystem::create_directories(www + "/sub");
    std::filesystem::create_directories(www + "/empty");
    std::filesystem::create_directories(www_b);

    index_html = "<!doctype html>\n<title>portico test</title>\n<p>index of a.test</p>\n";
    small = pattern(612, 1);
    medium = pattern(100 * 1024, 2);
    large = pattern(2 * 1024 * 1024, 3);
    spaced = "a file whose name has a space\n";
    sub_index = "<!doctype html>\n<p>sub/index.html</p>\n";
    b_index = "<!doctype html>\n<p>index of b.test</p>\n";
    secret = "TOP-SECRET: outside every document root\n";

    write_file(www + "/index.html", index_html);
    write_file(www + "/small.txt", small);
    write_file(www + "/medium.bin", medium);
    write_file(www + "/large.bin", large);
    write_file(www + "/a b.txt", spaced);
    write_file(www + "/sub/index.html", sub_index);
    write_file(www_b + "/index.html", b_index);
    write_file(dir / "secret.txt", secret);
    std::filesystem::create_symlink("../secret.txt", www + "/escape");
    std::filesystem::create_symlink(dir / "secret.txt", www + "/escape-abs");
}

std::string expand(std::string_view text, uint16_t port, std::string_view dir) {
    std::string out;
    out.reserve(text.size() + 64);
    for (size_t i = 0; i < text.size();) {
        if (text.substr(i, 6) == "@PORT@") {
            out += std::to_string(port);
            i += 6;
        } else if (text.substr(i, 5) == "@DIR@") {
            out += dir;
            i += 5;
        } else {
            out += text[i++];
        }
    }
    return out;
}

std::string site_config(std::string_view http_extra, std::string_view top_extra) {
    std::string c =
        "master_process = false;\n"
        "worker_processes = 1;\n"
        "error_log = \"@DIR@/error.log\";\n"
        "log_level = \"info\";\n";
    c.append(top_extra).append(
        "\nhttp = {\n"
        "    access_log = \"@DIR@/access.log\";\n");
    c.append(http_extra).append(
        "\n};\n"
        "servers = (\n"
        "    { listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"a.test\"]; root = \"@DIR@/www\";\n"
        "      index = [\"index.html\"]; },\n"
        "    { listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"b.test\"]; root = \"@DIR@/www-b\"; }\n"
        ");\n");
    return c;
}

std::string get(std::string_view target, std::string_view extra, std::string_view method,
                std::string_view host) {
    std::string r;
    r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
    r.append(extra).append("\r\n");
    return r;
}

std::unique_ptr<Client> idle_client(uint16_t port, const std::string& expect_body) {
    auto c = std::make_unique<Client>(port);
    c->send_raw(get("/small.txt"));
    Response r = c->read_response();
    REQUIRE(r.status == 200);
    REQUIRE(r.body == expect_body);
    return c;
}

}  // namespace portico::test
