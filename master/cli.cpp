#include "master/cli.hpp"

#include <csignal>
#include <stdexcept>
#include <string_view>

namespace portico::master {

const char* usage() {
    return "Usage: portico [-c FILE] [-t] [-s SIGNAL] [-v] [-h]\n"
           "\n"
           "  -c FILE   use this configuration file (default: conf/server.conf)\n"
           "  -t        test the configuration and exit (0: valid, 1: invalid)\n"
           "  -s SIGNAL send a signal to the running master (found through pid_file):\n"
           "            reload (SIGHUP), reopen (SIGUSR1), stop (SIGTERM), quit (SIGQUIT)\n"
           "  -v        print the version and exit\n"
           "  -h        print this help and exit\n";
}

int signal_for(const std::string& name) {
    if (name == "reload") return SIGHUP;
    if (name == "reopen") return SIGUSR1;
    if (name == "stop") return SIGTERM;
    if (name == "quit") return SIGQUIT;
    return 0;
}

Options parse_command_line(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-c") {
            if (i + 1 >= argc) throw std::invalid_argument("option -c needs a file name");
            o.config_file = argv[++i];
        } else if (a == "-s") {
            if (i + 1 >= argc) throw std::invalid_argument("option -s needs a signal: reload, reopen, stop or quit");
            o.signal = argv[++i];
            if (signal_for(o.signal) == 0)
                throw std::invalid_argument("unknown signal '" + o.signal + "' (reload, reopen, stop or quit)");
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
