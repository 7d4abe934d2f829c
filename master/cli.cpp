#include "master/cli.hpp"

#include <stdexcept>
#include <string_view>

namespace portico::master {

const char* usage() {
    return "Usage: portico [-c FILE] [-t] [-v] [-h]\n"
           "\n"
           "  -c FILE   use this configuration file (default: conf/server.conf)\n"
           "  -t        test the configuration and exit (0: valid, 1: invalid)\n"
           "  -v        print the version and exit\n"
           "  -h        print this help and exit\n";
}

Options parse_command_line(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-c") {
            if (i + 1 >= argc) throw std::invalid_argument("option -c needs a file name");
            o.config_file = argv[++i];
        } else if (a == "-t") {
            o.test_config = true;
        } else if (a == "-v") {
            o.show_version = true;
        } else if (a == "-h" || a == "--help") {
            o.show_help = true;
        } else {
            throw std::invalid_argument("unknown option '" + std::string(a) + "'");
        }
    }
    return o;
}

}  // namespace portico::master
