#include "request_set.hpp"

#include <strings.h>

namespace portico::bench {
namespace {

bool has_header(const Options& options, std::string_view name) {
    for (const auto& h : options.headers) {
        if (h.size() > name.size() && h[name.size()] == ':' &&
            strncasecmp(h.data(), name.data(), name.size()) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

RequestSet::RequestSet(const Options& options, const std::vector<Target>& targets)
    : head_(strcasecmp(options.method.c_str(), "HEAD") == 0) {
    for (const auto& target : targets) {
        const std::string one = build(options, target);
        std::string batch;
        batch.reserve(one.size() * options.pipeline);
        for (uint32_t i = 0; i < options.pipeline; ++i) {
            batch += one;
        }
        sizes_.push_back(one.size());
        batches_.push_back(std::move(batch));
    }
}

std::string RequestSet::build(const Options& options, const Target& target) {
    std::string r = options.method + " " + target.path + " HTTP/1.1\r\n";
    // The user's headers win over ours: -H "Host: x" replaces the default, it does not add one.
    if (!has_header(options, "host")) {
        r += "Host: " + target.host + "\r\n";
    }
    for (const auto& h : options.headers) {
        r += h + "\r\n";
    }
    if (options.close && !has_header(options, "connection")) {
        r += "Connection: close\r\n";
    }
    if (!options.body.empty() && !has_header(options, "content-length")) {
        r += "Content-Length: " + std::to_string(options.body.size()) + "\r\n";
    }
    r += "\r\n";
    r += options.body;
    return r;
}

}  // namespace portico::bench
