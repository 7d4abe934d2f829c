#pragma once
// The client side of the control socket (control_server.hpp): `portico -s reload|upgrade`.

#include <chrono>
#include <string>

namespace portico::master {

struct ControlAnswer {
    bool ok = false;
    std::string text;  ///< the master's explanation, or why no answer came
};

/// Sends `command` to the master listening on `socket_path` and waits up to `wait` for its one
/// line of answer. Never throws: a refused connection or a timeout is an answer with ok false.
ControlAnswer ask_master(const std::string& socket_path, const std::string& command,
                         std::chrono::seconds wait);

}  // namespace portico::master
