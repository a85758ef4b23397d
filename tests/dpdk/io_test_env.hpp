// Shared between dpdk_io's main (which starts EAL once) and its tests.
#pragma once
#include <string>

#include "io/eal.hpp"

namespace synwave::io::test {

// "swtest-io-<pid>": the file prefix of the process-wide EAL.
std::string main_file_prefix();
// What eal_init returned for the process-wide EAL.
EalInfo& main_eal_info();

}  // namespace synwave::io::test
