#pragma once
// Process titles for ps: "portico: master process ...", "portico: worker process #1 (generation 2)".

namespace portico::master {

/// Must run first thing in main: moves the environment out of the way so the title may use the
/// memory of argv and environ (what /proc/PID/cmdline shows).
void init_process_title(int argc, char** argv);

/// Replaces what ps shows as this process's command line.
void set_process_title(const char* title);

}  // namespace portico::master
