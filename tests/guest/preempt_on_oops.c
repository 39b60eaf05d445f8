// SPDX-License-Identifier: GPL-2.0
/*
 * preempt_on_oops CPU TO_CPU: a real-time task on CPU that sleeps reading /dev/kmsg; when an
 * oops begins ("Oops: "), it moves the oopsing task (the PID of the oops's "CPU: " line) to
 * TO_CPU.
 *
 * Used to move an oopsing task to another CPU between the die notifier and its dump: x86's
 * oops_end() enables interrupts again before oops_exit() calls the kmsg dumpers, and the printk
 * wakeup of this reader (an irq_work raised while the oops was printed with interrupts off)
 * fires right then: this task preempts the oopsing one on CPU and sends it to TO_CPU.
 * Prints "HOG ready" once it reads, "HOG moved PID n to CPU m" after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 50 };
	int oops = 0, pid = 0, fd;
	char rec[8192], *p;
	cpu_set_t set;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CPU TO_CPU\n", argv[0]);
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[1]), &set);
	if (sched_setaffinity(0, sizeof(set), &set) || sched_setscheduler(0, SCHED_FIFO, &sp)) {
		perror("preempt_on_oops: affinity or SCHED_FIFO");
		return 1;
	}
	fd = open("/dev/kmsg", O_RDONLY);
	if (fd < 0 || lseek(fd, 0, SEEK_END) < 0) {
		perror("preempt_on_oops: /dev/kmsg");
		return 1;
	}
	printf("HOG ready on CPU %s\n", argv[1]);
	fflush(stdout);
	while (!pid) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n < 0) {
			if (errno == EPIPE || errno == EINTR)
				continue;
			perror("preempt_on_oops: read /dev/kmsg");
			return 1;
		}
		rec[n] = 0;
		oops = oops || strstr(rec, "Oops: ");
		if (oops && strstr(rec, "CPU: ") && (p = strstr(rec, " PID: ")))
			pid = atoi(p + 6);
	}
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[2]), &set);
	if (sched_setaffinity(pid, sizeof(set), &set)) {
		perror("preempt_on_oops: moving the oopsing task");
		return 1;
	}
	printf("HOG moved PID %d to CPU %s\n", pid, argv[2]);
	return 0;
}
