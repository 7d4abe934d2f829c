#pragma once
// The command line: portico [-c FILE] [-t] [-v] [-h]

#include <string>

namespace portico::master {

struct Options {
    std::string config_file = "conf/server.conf";
    bool test_config = false;
    bool show_version = false;
    bool show_help = false;
};

/// Parses argv. Throws std::invalid_argument with a message for the user on a bad command line.
Options parse_command_line(int argc, char** argv);

/// The usage text printed by -h.
const char* usage();

}  // namespace portico::master
