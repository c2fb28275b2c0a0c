// `radclear status`, `cancel`, `retry`: ask a running coordinator; `status`
// reads the DB read-only (--db) when none answers.
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/client_flags.h"
#include "cli/command.h"
#include "coordinator/client.h"
#include "coordinator/job_store.h"
#include "coordinator/scheduler.h"

namespace radclear::cli {

namespace {

int fail(const Status& s) {
  spdlog::error("{}", s.to_string());
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? 2 : 1;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The status from the DB alone, as of now (no coordinator needed).
Result<coordinator::StatusReport> status_from_db(const std::filesystem::path& db, const std::string& query) {
  coordinator::JobStoreOptions ro;
  ro.read_only = true;
  auto store = coordinator::JobStore::Open(db, ro);
  if (!store.ok()) return store.status();
  coordinator::Scheduler view(store.value().get(), coordinator::SchedulerOptions{});
  Status s = view.Load(wall_ms());
  if (!s.ok()) return s;
  return view.Query(query, wall_ms());
}

}  // namespace

Runner setup_status(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string query;
    std::filesystem::path db;
    bool watch = false;
    double every_s = 2;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("id", f->query, "SWEEP, SWEEP/TRIAL, SWEEP/TRIAL/JOB or a job id (default: every sweep)");
  f->client.add(app);
  app.add_option("--db", f->db, "Read this coordinator DB directly (read-only) when no coordinator answers");
  app.add_flag("--watch", f->watch, "Refresh until interrupted");
  app.add_option("--every", f->every_s, "Seconds between --watch refreshes")->capture_default_str();
  app.add_flag("--json", f->json, "Print JSON instead of a table");
  return [f] {
    auto options = f->client.options(1500, 1);
    if (!options.ok()) return fail(options.status());
    auto client = std::make_unique<coordinator::CoordinatorClient>(options.value());
    while (true) {
      Result<coordinator::StatusReport> report = client->Status(f->query);
      if (!report.ok() && report.status().code() == StatusCode::kIoError && !f->db.empty()) {
        spdlog::debug("{}; reading {} instead", report.status().message(), f->db.string());
        report = status_from_db(f->db, f->query);
      }
      if (!report.ok()) return fail(report.status());
      if (f->json)
        std::cout << nlohmann::json(report.value()).dump(2) << std::endl;
      else
        std::cout << (f->watch ? "\033[2J\033[H" : "") << coordinator::format_status(report.value()) << std::flush;
      if (!f->watch) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(std::max(0.1, f->every_s) * 1000)));
    }
  };
}

namespace {

// cancel and retry differ only in the request.
Runner setup_target_command(CLI::App& app, bool cancel) {
  struct Flags {
    ClientFlags client;
    std::string target;
  };
  auto f = std::make_shared<Flags>();
  app.add_option("id", f->target, "A job id, SWEEP or SWEEP/TRIAL")->required();
  f->client.add(app);
  return [f, cancel] {
    auto options = f->client.options(5000, 3);
    if (!options.ok()) return fail(options.status());
    coordinator::CoordinatorClient client(options.value());
    auto n = cancel ? client.Cancel(f->target) : client.Retry(f->target);
    if (!n.ok()) return fail(n.status());
    std::cout << (cancel ? "cancelled " : "requeued ") << n.value() << " job(s) of " << f->target << "\n";
    return 0;
  };
}

}  // namespace

Runner setup_cancel(CLI::App& app) { return setup_target_command(app, true); }
Runner setup_retry(CLI::App& app) { return setup_target_command(app, false); }

}  // namespace radclear::cli
