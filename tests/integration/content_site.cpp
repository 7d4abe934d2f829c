#include "tests/integration/content_site.hpp"

#include <cstdlib>
#include <filesystem>

#include <catch2/catch.hpp>

namespace portico::test {
namespace {

// Python's decoders and encoders, run as a separate process on files.
std::string python(const TempDir& dir, std::string_view action, std::string_view coding, const std::string& in) {
    const std::string input = dir / "py-in.bin", output = dir / "py-out.bin";
    write_file(input, in);
    std::filesystem::remove(output);
    std::string cmd = "/usr/bin/python3 -c \"import sys, gzip, brotli\n"
                      "d = open(sys.argv[1], 'rb').read()\n"
                      "a, c = sys.argv[3], sys.argv[4]\n"
                      "if a == 'decode': o = gzip.decompress(d) if c == 'gzip' else brotli.decompress(d)\n"
                      "else: o = gzip.compress(d, 9) if c == 'gzip' else brotli.compress(d, quality=11)\n"
                      "open(sys.argv[2], 'wb').write(o)\" ";
    cmd.append(input).append(" ").append(output).append(" ").append(action).append(" ").append(coding);
    int status = std::system(cmd.c_str());
    INFO("python3 " << action << " " << coding << " of " << in.size() << " bytes");
    REQUIRE(status == 0);
    return read_file(output);
}

}  // namespace

std::string html_text(size_t n, uint32_t seed) {
    static const char* const kWords[] = {"<p>",   "</p>",  "<div class=\"row\">", "</div>", "portico", "server",
                                         "file",  "cache", "request",             "the",    "of",      "and",
                                         "<a href=\"/x\">", "</a>", "\n",          "response"};
    std::string s;
    s.reserve(n + 32);
    uint32_t x = seed * 2654435761u + 1;
    while (s.size() < n) {
        x = x * 1103515245u + 12345u;
        s.append(kWords[(x >> 16) % 16]).push_back(' ');
        if ((x >> 8) % 7 == 0) s.append(std::to_string(x % 1000));
    }
    s.resize(n);
    return s;
}

std::string python_encode(const TempDir& dir, std::string_view coding, const std::string& bytes) {
    return python(dir, "encode", coding, bytes);
}

std::string python_decode(const TempDir& dir, std::string_view coding, const std::string& body) {
    return python(dir, "decode", coding, body);
}

Response read_chunked_response(Client& c) {
    std::string head;
    while (!head.ends_with("\r\n\r\n")) head += c.read_exact(1);
    Response r;
    INFO("response head:\n" << head);
    REQUIRE(head.starts_with("HTTP/1.1 "));
    r.version = head.substr(0, 8);
    r.status = std::stoi(head.substr(9, 3));
    size_t pos = head.find("\r\n") + 2;
    while (pos + 2 < head.size()) {
        size_t next = head.find("\r\n", pos);
        std::string line = head.substr(pos, next - pos);
        size_t colon = line.find(':');
        REQUIRE(colon != std::string::npos);
        r.headers.emplace(line.substr(0, colon), line.substr(line.find_first_not_of(' ', colon + 1)));
        pos = next + 2;
    }
    REQUIRE(r.header("Transfer-Encoding") == "chunked");
    for (;;) {
        std::string line;
        while (!line.ends_with("\r\n")) line += c.read_exact(1);
        size_t size = std::stoul(line, nullptr, 16);
        if (size == 0) {
            REQUIRE(c.read_exact(2) == "\r\n");  // no trailers
            break;
        }
        r.body += c.read_exact(size);
        REQUIRE(c.read_exact(2) == "\r\n");
    }
    r.raw = head + "(chunked body)";
    return r;
}

ContentSite::ContentSite() {
    small_html = html_text(4 * 1024, 1);
    page_html = html_text(40 * 1024, 2);
    big_html = html_text(8 * 1024 * 1024, 3);
    tiny_html = html_text(100, 4);
    pre_html = html_text(12 * 1024, 5);
    stale_html = html_text(6 * 1024, 6);
    write_file(site.www + "/small.html", small_html);
    write_file(site.www + "/page.html", page_html);
    write_file(site.www + "/big.html", big_html);
    write_file(site.www + "/tiny.html", tiny_html);
    write_file(site.www + "/pre.html", pre_html);
    pre_gz = python_encode(site.dir, "gzip", pre_html);
    pre_br = python_encode(site.dir, "br", pre_html);
    write_file(site.www + "/pre.html.gz", pre_gz);
    write_file(site.www + "/pre.html.br", pre_br);
    stale_gz = python_encode(site.dir, "gzip", "an older version of the page");
    write_file(site.www + "/stale.html.gz", stale_gz);
    write_file(site.www + "/stale.html", stale_html);
    auto t = std::filesystem::last_write_time(site.www + "/stale.html");
    std::filesystem::last_write_time(site.www + "/stale.html.gz", t - std::chrono::seconds(100));
}

std::string ContentSite::config(std::string_view log_level, std::string_view http_extra) const {
    std::string c = "master_process = false;\nworker_processes = 1;\nerror_log = \"@DIR@/error.log\";\n";
    c.append("log_level = \"").append(log_level).append("\";\n");
    c.append("http = {\n  access_log = \"@DIR@/access.log\";\n"
             "  open_file_cache = { valid = \"100ms\"; };\n"
             "  precompressed = [ \"br\", \"gzip\" ];\n"
             "  gzip = { level = 5; };\n  brotli = { level = 5; };\n  charset = \"utf-8\";\n");
    c.append(http_extra);
    c.append("\n};\nservers = (\n"
             "  { listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"a.test\"]; root = \"@DIR@/www\"; }\n);\n");
    return c;
}

}  // namespace portico::test
