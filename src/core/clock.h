/* The monotonic clock in milliseconds: timers and deadlines, never wall time. */
#ifndef PBX_CLOCK_H
#define PBX_CLOCK_H

#include <stdint.h>

int64_t mono_ms(void);

#endif
