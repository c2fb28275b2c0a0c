#pragma once
// One table of subcommands drives `radclear --help` (ninja's habit). Each
// command registers its flags on a CLI11 subcommand, parsing them into its
// stage Spec, and returns the function that runs the stage. Only the CLI
// maps errors to exit codes.
#include <functional>
#include <vector>

namespace CLI {
class App;
}

namespace radclear::cli {

// Returns the exit code (cli/exit_code.h).
using Runner = std::function<int()>;

struct Command {
  const char* name;
  const char* summary;
  // Adds the command's flags to `app`; the returned runner is called after
  // parsing succeeded and reads the parsed values.
  Runner (*setup)(CLI::App& app);
};

const std::vector<Command>& commands();

// One declaration per command; each lives in cmd_<name>.cc.
Runner setup_doctor(CLI::App& app);
Runner setup_index(CLI::App& app);        // cmd_index.cc
Runner setup_index_stats(CLI::App& app);  // cmd_index.cc
Runner setup_convert(CLI::App& app);      // cmd_convert.cc
Runner setup_synth(CLI::App& app);
Runner setup_pretrain(CLI::App& app);  // cmd_pretrain.cc
Runner setup_bench(CLI::App& app);  // cmd_bench.cc: bench loader, bench step
Runner setup_bench_step(CLI::App& app);  // cmd_bench_step.cc: `bench step` (a row of kBenchmarks)
Runner setup_bench_extract(CLI::App& app);  // cmd_bench_extract.cc: `bench extract`
Runner setup_bench_pretrain(CLI::App& app);  // cmd_bench_pretrain.cc: `bench pretrain`
Runner setup_bench_coordinator(CLI::App& app);  // cmd_bench_coordinator.cc: `bench coordinator`
Runner setup_crossval(CLI::App& app);  // cmd_crossval.cc
Runner setup_deploy(CLI::App& app);    // cmd_deploy.cc
Runner setup_extract(CLI::App& app);         // cmd_extract.cc
Runner setup_features_stats(CLI::App& app);  // cmd_extract.cc
Runner setup_quickstart(CLI::App& app);      // cmd_quickstart.cc
Runner setup_coordinator(CLI::App& app);  // cmd_coordinator.cc
Runner setup_status(CLI::App& app), setup_cancel(CLI::App& app), setup_retry(CLI::App& app);  // cmd_status.cc
Runner setup_worker(CLI::App& app);  // cmd_worker.cc
Runner setup_run(CLI::App& app), setup_submit(CLI::App& app);  // cmd_run.cc

}  // namespace radclear::cli
