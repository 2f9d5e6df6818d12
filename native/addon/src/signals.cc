#include "signals.h"

#include <omp.h>

namespace clearsky {

void startThreadTeam() {
  SignalsDeferred deferred;
  // An empty region makes libgomp create (and keep) its full team now, under this mask.
#pragma omp parallel
  { (void)omp_get_thread_num(); }
}

}  // namespace clearsky
