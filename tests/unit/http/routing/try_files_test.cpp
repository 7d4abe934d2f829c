// try_files against a fake file system, error pages, alias paths and the path check.

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "http/routing/location_matcher.hpp"
#include "http/routing/try_files.hpp"

using namespace portico::http::routing;
using Kind = TryFilesOutcome::Kind;

namespace {

class FakeDisk : public FileProbe {
public:
    explicit FakeDisk(std::map<std::string, Found> entries) : entries_(std::move(entries)) {}
    Found probe(std::string_view uri) noexcept override {
        asked += std::string(uri) + " ";
        auto it = entries_.find(std::string(uri));
        return it == entries_.end() ? Found::kNothing : it->second;
    }
    std::string asked;

private:
    std::map<std::string, Found> entries_;
};

TryFiles make(std::initializer_list<const char*> candidates, const char* last) {
    TryFiles tf;
    std::string problem;
    for (const char* c : candidates) tf.candidates.push_back(*ValueTemplate::compile(c, problem));
    std::string_view l = last;
    if (l.starts_with("=")) {
        tf.code = static_cast<uint16_t>(std::stoi(std::string(l.substr(1))));
    } else {
        tf.uri = *ValueTemplate::compile(l, problem);
    }
    return tf;
}

FakeDisk site() {
    return FakeDisk({{"/index.html", Found::kFile},
                     {"/app.js", Found::kFile},
                     {"/docs", Found::kDirectory},
                     {"/docs/", Found::kDirectory},
                     {"/", Found::kDirectory},
                     {"/users/ann.html", Found::kFile}});
}

RequestVars vars_for(std::string_view uri) {
    RequestVars v;
    v.uri = uri;
    v.args = "q=1";
    return v;
}

}  // namespace

TEST_CASE("try_files: the single-page-application fallback", "[routing][try_files]") {
    TryFiles tf = make({"$uri", "$uri/"}, "/index.html");
    char scratch[256];
    FakeDisk disk = site();
    auto out = run_try_files(tf, vars_for("/app.js"), disk, scratch, sizeof scratch);
    CHECK(out.kind == Kind::kServe);
    CHECK(out.uri == "/app.js");

    out = run_try_files(tf, vars_for("/docs"), disk, scratch, sizeof scratch);  // a directory, not a file
    CHECK(out.kind == Kind::kServe);
    CHECK(out.uri == "/docs/");

    out = run_try_files(tf, vars_for("/"), disk, scratch, sizeof scratch);  // "$uri/" is "//": the same "/"
    CHECK(out.kind == Kind::kServe);
    CHECK(out.uri == "/");

    disk.asked.clear();
    out = run_try_files(tf, vars_for("/some/client/route"), disk, scratch, sizeof scratch);
    CHECK(out.kind == Kind::kRedirect);
    CHECK(out.uri == "/index.html");
    CHECK(out.args.empty());
    CHECK(disk.asked == "/some/client/route /some/client/route/ ");
}

TEST_CASE("try_files: =CODE, a fallback with args, captures", "[routing][try_files]") {
    char scratch[256];
    FakeDisk disk = site();
    auto out = run_try_files(make({"$uri"}, "=404"), vars_for("/nope"), disk, scratch, sizeof scratch);
    CHECK(out.kind == Kind::kStatus);
    CHECK(out.code == 404);

    out = run_try_files(make({"$uri"}, "/index.php?$args&from=$uri"), vars_for("/x"), disk, scratch,
                        sizeof scratch);
    CHECK(out.kind == Kind::kRedirect);
    CHECK(out.uri == "/index.php");
    CHECK(out.args == "q=1&from=/x");

    LocationMatcher m;
    std::string problem;
    REQUIRE(m.add(*MatchSpec::parse("~ ^/u/(\\w+)$", problem), 0, problem));
    MatchData md;
    RequestVars v = vars_for("/u/ann");
    v.captures = m.match(v.uri, md).captures;
    out = run_try_files(make({"/users/$1.html"}, "=404"), v, disk, scratch, sizeof scratch);
    CHECK(out.kind == Kind::kServe);
    CHECK(out.uri == "/users/ann.html");
}

TEST_CASE("try_files: expansions that are no normalised path are skipped or refused",
          "[routing][try_files]") {
    char scratch[256];
    FakeDisk disk({{"/etc/passwd", Found::kFile}, {"/../etc/passwd", Found::kFile}});
    LocationMatcher m;
    std::string problem;
    REQUIRE(m.add(*MatchSpec::parse("~ ^/(.)x(.)/(.*)$", problem), 0, problem));
    MatchData md;
    RequestVars v = vars_for("/.x./etc/passwd");
    v.captures = m.match(v.uri, md).captures;
    // "$1$2" is "..": the candidate "/../etc/passwd" is never asked for.
    auto out = run_try_files(make({"/$1$2/$3"}, "=404"), v, disk, scratch, sizeof scratch);
    CHECK(out.kind == Kind::kStatus);
    CHECK(disk.asked.empty());
    out = run_try_files(make({"$uri"}, "/$1$2/$3"), v, disk, scratch, sizeof scratch);
    CHECK(out.kind == Kind::kRefused);
    CHECK(out.code == 400);  // the request made that path
    // Too long for the scratch: refused, never truncated.
    out = run_try_files(make({"$uri"}, "/index.html"), vars_for("/a-long-path"), disk, scratch, 4);
    CHECK(out.kind == Kind::kRefused);
    CHECK(out.code == 0);  // the caller's 500
}

TEST_CASE("normalised paths", "[routing][try_files]") {
    for (const char* good : {"/", "/a", "/a/", "/a/b.c", "/.well-known/x", "/a/..b/c."}) {
        INFO(good);
        CHECK(is_normal_path(good));
    }
    for (const char* bad : {"", "a", "//", "/a//b", "/./a", "/a/.", "/a/../b", "/..", "/a\nb", "/a\x7f"}) {
        INFO(bad);
        CHECK_FALSE(is_normal_path(bad));
    }
}

TEST_CASE("alias: the rest of the path after the prefix", "[routing][alias]") {
    CHECK(alias_remainder("/files/", "/files/a/b") == "/a/b");
    CHECK(alias_remainder("/files/", "/files/") == "/");
    CHECK(alias_remainder("/files", "/files/a") == "/a");
    CHECK(alias_remainder("/files", "/files") == "");
    CHECK_FALSE(alias_remainder("/files", "/filesX"));  // would be a sibling of the alias
    CHECK_FALSE(alias_remainder("/files", "/files../x"));
    CHECK_FALSE(alias_remainder("/files/", "/other/"));
}

TEST_CASE("error pages by code", "[routing][error_pages]") {
    std::vector<ErrorPage> pages{{404, "/404.html"}, {500, "/50x.html"}, {502, "/50x.html"}};
    REQUIRE(find_error_page(pages, 404));
    CHECK(find_error_page(pages, 404)->uri == "/404.html");
    CHECK(find_error_page(pages, 502)->uri == "/50x.html");
    CHECK(find_error_page(pages, 403) == nullptr);
    CHECK(find_error_page({}, 404) == nullptr);
}
