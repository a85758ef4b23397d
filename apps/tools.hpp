// Subcommands that work on the JSON of finished runs and start no EAL: `synwave merge` and `synwave plot`.
// Each takes the arguments after its own name and returns the process's exit status (2: bad arguments).
#pragma once

namespace synwave::app {

[[nodiscard]] int run_merge(int argc, char** argv);
[[nodiscard]] int run_plot(int argc, char** argv);

}  // namespace synwave::app
