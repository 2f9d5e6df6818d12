#include "plan.h"

#include "signals.h"

namespace clearsky {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

void Plan::bind(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted, bool isOutput) {
  Binding binding{arg, isOutput, dnnl::memory(user, cpuEngine(), DNNL_MEMORY_NONE), {}, {}};
  if (user != wanted) {
    binding.inner = dnnl::memory(wanted, cpuEngine());
    ++reorders_;
    binding.reorder = isOutput ? dnnl::reorder(binding.inner, binding.user) : dnnl::reorder(binding.user, binding.inner);
  }
  args_[arg] = binding.inner ? binding.inner : binding.user;
  bindings_.push_back(std::move(binding));
}

void Plan::execute(const std::vector<void*>& buffers) {
  SignalsDeferred deferred;
  auto& stream = cpuStream();
  for (size_t i = 0; i < bindings_.size(); ++i) {
    Binding& b = bindings_[i];
    b.user.set_data_handle(buffers[i]);
    if (b.inner && !b.isOutput) {
      b.reorder.execute(stream, {{DNNL_ARG_FROM, b.user}, {DNNL_ARG_TO, b.inner}});
    }
  }
  primitive_.execute(stream, args_);
  for (Binding& b : bindings_) {
    if (b.inner && b.isOutput) {
      b.reorder.execute(stream, {{DNNL_ARG_FROM, b.inner}, {DNNL_ARG_TO, b.user}});
    }
  }
  stream.wait();
}

}  // namespace clearsky
