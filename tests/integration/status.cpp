// The status endpoint, parsed strictly.

#include "tests/integration/status.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <catch2/catch.hpp>

namespace portico::test {
namespace {

// A small strict JSON reader, enough for the status document: objects, arrays, strings and
// non-negative integers. Anything else is an error, and so is trailing garbage.
struct Json {
    enum class Kind { kNumber, kString, kArray, kObject } kind = Kind::kNumber;
    uint64_t number = 0;
    std::string text;
    std::vector<Json> items;
    std::vector<std::pair<std::string, Json>> fields;  // in document order
};

class JsonReader {
public:
    explicit JsonReader(std::string_view s) : s_(s) {}

    Json document() {
        Json v = value();
        skip_space();
        if (i_ != s_.size()) error("trailing bytes");
        return v;
    }

private:
    [[noreturn]] void error(const std::string& what) const {
        throw std::runtime_error(what + " at offset " + std::to_string(i_));
    }
    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    bool eat(char c) {
        skip_space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) error(std::string("expected '") + c + "'");
    }
    Json value() {
        skip_space();
        if (i_ >= s_.size()) error("unexpected end");
        char c = s_[i_];
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return Json{Json::Kind::kString, 0, string(), {}, {}};
        if (c >= '0' && c <= '9') return number();
        error(std::string("unexpected '") + c + "'");
    }
    Json number() {
        Json v;
        if (s_[i_] == '0' && i_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))
            error("leading zero");
        size_t digits = 0;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
            v.number = v.number * 10 + static_cast<uint64_t>(s_[i_++] - '0');
            if (++digits > 19) error("number too long");
        }
        if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) error("not an integer");
        return v;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            if (static_cast<unsigned char>(s_[i_]) < 0x20) error("control character in a string");
            if (s_[i_] == '\\') {
                if (++i_ >= s_.size()) break;
                if (!std::strchr("\"\\/bfnrt", s_[i_])) error("unsupported escape");
            }
            out += s_[i_++];
        }
        if (i_ >= s_.size()) error("unterminated string");
        ++i_;
        return out;
    }
    Json array() {
        Json v;
        v.kind = Json::Kind::kArray;
        expect('[');
        if (eat(']')) return v;
        do v.items.push_back(value());
        while (eat(','));
        expect(']');
        return v;
    }
    Json object() {
        Json v;
        v.kind = Json::Kind::kObject;
        expect('{');
        if (eat('}')) return v;
        do {
            skip_space();
            std::string key = string();
            expect(':');
            v.fields.emplace_back(std::move(key), value());
        } while (eat(','));
        expect('}');
        return v;
    }

    std::string_view s_;
    size_t i_ = 0;
};

using Field = std::pair<const char*, uint64_t WorkerStatus::*>;
const std::vector<Field> kWorkerFields = {
    {"pid", &WorkerStatus::pid},
    {"slot", &WorkerStatus::slot},
    {"generation", &WorkerStatus::generation},
    {"heartbeat_age_ms", &WorkerStatus::heartbeat_age_ms},
    {"accepted", &WorkerStatus::accepted},
    {"active", &WorkerStatus::active},
    {"idle", &WorkerStatus::idle},
    {"requests", &WorkerStatus::requests},
    {"bytes_out", &WorkerStatus::bytes_out},
    {"status_4xx", &WorkerStatus::status_4xx},
    {"status_5xx", &WorkerStatus::status_5xx},
};
const std::vector<Field> kCounterFields(kWorkerFields.begin() + 4, kWorkerFields.end());

/// Fills `out` from `object`, whose keys must be exactly `fields`, in that order, all integers.
void read_fields(const Json& object, const std::vector<Field>& fields, WorkerStatus& out) {
    REQUIRE(object.kind == Json::Kind::kObject);
    REQUIRE(object.fields.size() == fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
        INFO("field " << i << ": " << object.fields[i].first);
        REQUIRE(object.fields[i].first == fields[i].first);
        REQUIRE(object.fields[i].second.kind == Json::Kind::kNumber);
        out.*(fields[i].second) = object.fields[i].second.number;
    }
}

Status status_until_impl(const std::function<Status()>& fetch, const std::function<bool(const Status&)>& done,
                         std::string_view what, milliseconds limit) {
    auto deadline = Clock::now() + limit;
    for (;;) {
        Status s = fetch();
        if (done(s)) return s;
        if (Clock::now() >= deadline) {
            std::ostringstream doc;
            for (const WorkerStatus& w : s.workers)
                doc << "pid " << w.pid << " slot " << w.slot << " generation " << w.generation << " accepted "
                    << w.accepted << " requests " << w.requests << "\n";
            FAIL("the status never showed " << what << "; the last one:\n" << doc.str());
        }
        pace_retry();
    }
}

}  // namespace

const WorkerStatus& Status::of(pid_t pid) const {
    auto it = std::find_if(workers.begin(), workers.end(),
                           [&](const WorkerStatus& w) { return w.pid == static_cast<uint64_t>(pid); });
    INFO("pid " << pid << " in the status document");
    REQUIRE(it != workers.end());
    return *it;
}

bool Status::lists(pid_t pid) const {
    return std::any_of(workers.begin(), workers.end(),
                       [&](const WorkerStatus& w) { return w.pid == static_cast<uint64_t>(pid); });
}

Status parse_status(const std::string& json) {
    INFO("status document: " << json);
    Json doc;
    try {
        doc = JsonReader(json).document();
    } catch (const std::exception& e) {
        FAIL("malformed JSON: " << e.what());
    }
    REQUIRE(doc.kind == Json::Kind::kObject);
    REQUIRE(doc.fields.size() == 2);
    REQUIRE(doc.fields[0].first == "workers");
    REQUIRE(doc.fields[0].second.kind == Json::Kind::kArray);
    REQUIRE(doc.fields[1].first == "total");
    Status s;
    for (const Json& w : doc.fields[0].second.items) read_fields(w, kWorkerFields, s.workers.emplace_back());
    read_fields(doc.fields[1].second, kCounterFields, s.total);
    return s;
}

Status fetch_status(Client& c) {
    c.send_raw(get("/status"));
    Response r = c.read_response();
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type") == "application/json");
    return parse_status(r.body);
}

Status fetch_status(uint16_t port) {
    Client c(port);
    return fetch_status(c);
}

Status status_until(uint16_t port, const std::function<bool(const Status&)>& done, std::string_view what,
                    milliseconds limit) {
    return status_until_impl([&] { return fetch_status(port); }, done, what, limit);
}

Status status_until(Client& c, const std::function<bool(const Status&)>& done, std::string_view what,
                    milliseconds limit) {
    return status_until_impl([&] { return fetch_status(c); }, done, what, limit);
}

}  // namespace portico::test
