#pragma once
// Lets the models' BatchNorm synchronise over a worker Communicator (models/
// knows no transport, only models::BatchStatsReducer).
#include "models/layers/batch_norm.h"
#include "worker/comm/communicator.h"

namespace radclear::worker {

class CommBatchStatsReducer : public models::BatchStatsReducer {
 public:
  explicit CommBatchStatsReducer(Communicator& comm) : comm_(comm) {}
  int world() const override { return comm_.world(); }
  int rank() const override { return comm_.rank(); }
  void allreduce_sum(double* data, size_t count) override {
    comm_.allreduce(data, count, DType::kFloat64, ReduceOp::kSum);
  }

 private:
  Communicator& comm_;
};

}  // namespace radclear::worker
