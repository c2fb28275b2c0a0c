#pragma once
// The flags of a command that talks to a coordinator (status, cancel,
// retry, submit, worker): its endpoint and, when it runs with CURVE, this
// client's keys and the coordinator's public key.
#include <string>

#include <CLI/CLI.hpp>

#include "coordinator/auth.h"
#include "coordinator/client.h"

namespace radclear::cli {

struct ClientFlags {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string curve_keys, server_key;
  void add(CLI::App& app) {
    app.add_option("--coordinator", endpoint, "The coordinator's endpoint")->capture_default_str();
    app.add_option("--curve-keys", curve_keys, "This client's CURVE key file (when the coordinator needs CURVE)");
    app.add_option("--server-key", server_key, "The coordinator's CURVE public key (Z85)");
  }
  Result<coordinator::ClientOptions> options(int64_t timeout_ms, int tries) const {
    coordinator::ClientOptions o;
    o.endpoint = endpoint;
    o.request_timeout_ms = timeout_ms;
    o.tries = tries;
    if (!curve_keys.empty()) {
      auto keys = coordinator::load_curve_keys(curve_keys);
      if (!keys.ok()) return keys.status();
      if (server_key.size() != 40) return Status::InvalidArgument("--curve-keys needs --server-key (40 Z85 characters)");
      o.curve = keys.value();
      o.server_public_key = server_key;
    }
    return o;
  }
};

}  // namespace radclear::cli
