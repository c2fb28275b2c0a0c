#pragma once
// Who may talk to the coordinator. On a loopback endpoint, anyone on this
// machine may (the default; same trust as the DB files). Any other bind
// needs ZeroMQ CURVE: the coordinator has a key pair, every client has one,
// and a ZAP handler admits only client keys listed in an authorized-keys
// file, each with a role. Without keys such a bind is refused.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace radclear::coordinator {

// True for tcp://127.x.x.x, tcp://localhost, tcp://[::1], ipc:// and
// inproc:// endpoints: reachable from this machine only.
bool is_loopback_endpoint(const std::string& endpoint);

// A CURVE key pair, Z85-encoded (40 characters each).
struct CurveKeys {
  std::string public_key;
  std::string secret_key;
};

// A fresh key pair (libzmq's zmq_curve_keypair). Internal error when libzmq
// was built without CURVE (libsodium).
Result<CurveKeys> make_curve_keys();
// Key files are YAML: `public: <z85>` and `secret: <z85>` (the secret is
// optional in a file handed to others). Written with mode 0600.
Status save_curve_keys(const std::filesystem::path& path, const CurveKeys& keys);
Result<CurveKeys> load_curve_keys(const std::filesystem::path& path);

// What an authenticated client may do.
enum class Role : uint8_t {
  kRead,    // status only
  kWorker,  // lease, heartbeat, done, fail; status
  kAdmin,   // everything: submit, cancel, retry too
};
const char* role_name(Role r);
std::optional<Role> parse_role(const std::string& name);

// Lines "<z85 public key> <read|worker|admin>"; a line whose first word
// starts with '#' and is not 40 characters long is a comment ('#' is a Z85
// digit, so a key may start with it).
// InvalidArgument names the file and line of a bad entry.
Result<std::map<std::string, Role>> load_authorized_keys(const std::filesystem::path& path);

// The ZAP handler (ZeroMQ RFC 27): a REP socket on inproc://zeromq.zap.01
// in the coordinator's context. libzmq asks it about every CURVE handshake;
// it answers 200 with the role as the user id for a listed key, 400
// otherwise. The coordinator polls it in its own loop (no thread).
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& ctx, std::map<std::string, Role> authorized);
  ~ZapHandler();
  zmq::socket_t& socket();
  // Answers one pending request (call when the socket is readable).
  void HandleOne();
  int64_t denied() const { return denied_; }
  int64_t admitted() const { return admitted_; }

 private:
  std::unique_ptr<zmq::socket_t> sock_;
  std::map<std::string, Role> authorized_;  // z85 public key -> role
  int64_t denied_ = 0;
  int64_t admitted_ = 0;
};

}  // namespace radclear::coordinator
