#pragma once
// Reading the slow-client mode's JSON report in the tests: its objects repeat key names
// ("cut" is in "slowloris" and in "slow_readers"), so a key is looked up inside one object.

#include <string>

namespace portico::bench::test {

/// The text of the object that follows "\"key\": " in `json` (braces included); empty when
/// the key is absent or is not followed by an object.
inline std::string json_object(const std::string& json, const std::string& key) {
    const std::string needle = "\"" + key + "\": {";
    const auto at = json.find(needle);
    if (at == std::string::npos) return "";
    const size_t open = at + needle.size() - 1;
    int depth = 0;
    for (size_t i = open; i < json.size(); ++i) {
        if (json[i] == '{') ++depth;
        if (json[i] == '}' && --depth == 0) return json.substr(open, i - open + 1);
    }
    return "";
}

}  // namespace portico::bench::test
