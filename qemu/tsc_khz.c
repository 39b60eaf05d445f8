// SPDX-License-Identifier: GPL-2.0
/*
 * The host's TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW over 200 ms. Under TCG a
 * guest's TSC is the host's, so the harness tells the guest kernel this frequency
 * (tsc_early_khz=): it cannot calibrate its TSC on a busy host, and would otherwise fall back to
 * a jiffies clock that stands still with interrupts off.
 */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void)
{
	double start = now_ns(), end;
	unsigned long long t0 = __rdtsc(), t1;

	do
		end = now_ns();
	while (end - start < 200e6);
	t1 = __rdtsc();
	printf("%.0f\n", (t1 - t0) / (end - start) * 1e6);
	return 0;
}
