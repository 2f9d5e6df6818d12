// An execution plan: one oneDNN primitive plus the reorders between the caller's plain layouts (NHWC
// activations, HWIO filters: tfjs' own) and whatever layout the primitive prefers. Plans are built once
// per shape and reused, because building a primitive (JIT code generation) costs milliseconds.
#pragma once

#include <dnnl.hpp>

#include <string>
#include <unordered_map>
#include <vector>

namespace clearsky {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

class Plan {
 public:
  // Declares one tensor of the primitive: `arg` is its DNNL_ARG_*, `user` the caller's layout and
  // `wanted` the one the primitive was created with; a reorder (and a private buffer) is added when they
  // differ.
  void bind(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted, bool isOutput);
  void setPrimitive(dnnl::primitive primitive, const std::string& implementation) {
    primitive_ = std::move(primitive);
    description_ = implementation + (reorders_ ? " (blocked)" : " (plain)");
  }
  const std::string& description() const { return description_; }

  // Runs the primitive on caller-owned buffers, given in the order of bind() calls.
  void execute(const std::vector<void*>& buffers);

 private:
  struct Binding {
    int arg;
    bool isOutput;
    dnnl::memory user;
    dnnl::memory inner;  // empty when the primitive reads/writes the caller's buffer directly
    dnnl::primitive reorder;
  };
  dnnl::primitive primitive_;
  std::string description_;
  int reorders_ = 0;
  std::vector<Binding> bindings_;
  std::unordered_map<int, dnnl::memory> args_;
};

}  // namespace clearsky
