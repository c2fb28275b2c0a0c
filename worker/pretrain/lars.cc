#include "worker/pretrain/lars.h"

#include <torch/torch.h>

#include "common/check.h"

namespace radclear::worker {

Lars::Lars(std::vector<torch::optim::OptimizerParamGroup> groups, LarsOptions defaults)
    : Optimizer(std::move(groups), std::make_unique<LarsOptions>(defaults)) {
  RADCLEAR_CHECK(defaults.lr() >= 0, "LARS learning rate must be >= 0, got {}", defaults.lr());
  RADCLEAR_CHECK(defaults.momentum() >= 0, "LARS momentum must be >= 0, got {}", defaults.momentum());
}

Lars::Lars(std::vector<torch::Tensor> params, LarsOptions defaults)
    : Lars(std::vector<torch::optim::OptimizerParamGroup>{torch::optim::OptimizerParamGroup(std::move(params))},
           defaults) {}

torch::Tensor Lars::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const LarsOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto update = p.grad();
      if (p.dim() > 1) {
        update = update.add(p, o.weight_decay());
        auto p_norm = p.norm(), u_norm = update.norm();
        auto one = torch::ones_like(p_norm);
        auto q = torch::where(p_norm > 0, torch::where(u_norm > 0, o.trust_coefficient() * p_norm / u_norm, one), one);
        update = update.mul(q);
      }
      auto& slot = state_[c10::guts::to_string(p.unsafeGetTensorImpl())];
      if (!slot) {
        auto st = std::make_unique<LarsParamState>();
        st->mu(torch::zeros_like(p));
        slot = std::move(st);
      }
      auto& mu = static_cast<LarsParamState&>(*slot).mu();
      mu.mul_(o.momentum()).add_(update);
      p.add_(mu, -o.lr());
    }
  }
  return loss;
}

}  // namespace radclear::worker
