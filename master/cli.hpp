#pragma once
// The command line: portico [-c FILE] [-t] [-s reload|reopen|stop|quit|upgrade [--wait SECONDS]] [-v] [-h]

#include <chrono>
#include <string>

namespace portico::master {

struct Options {
    std::string config_file = "conf/server.conf";
    bool test_config = false;
    std::string signal;  ///< -s: reload, reopen, stop, quit or upgrade; empty when not given
    /// --wait: how long -s reload / -s upgrade wait for the master's answer.
    std::chrono::seconds wait{kDefaultWait};
    static constexpr int kDefaultWait = 60;
    bool show_version = false;
    bool show_help = false;
};

/// Parses argv. Throws std::invalid_argument with a message for the user on a bad command line.
Options parse_command_line(int argc, char** argv);

/// The signal number for a -s name (SIGHUP for "reload", ...); 0 for an unknown name.
int signal_for(const std::string& name);
/// True for the -s names whose outcome the master reports over its control socket.
bool waits_for_outcome(const std::string& name);

/// The usage text printed by -h.
const char* usage();

}  // namespace portico::master
