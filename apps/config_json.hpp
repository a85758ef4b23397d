// The effective options as JSON (the run report's "config"), each under its config-file key.
#pragma once
#include <nlohmann/json.hpp>

#include "options.hpp"

namespace synwave::app {

// Every option after the config file, the command line and finalize(), under its TOML key (so that the object
// read back as a config file runs the same test); options left unset (vlan, v6_share) are null.
[[nodiscard]] nlohmann::ordered_json config_json(const Options& o);

}  // namespace synwave::app
