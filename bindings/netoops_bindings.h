/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel C APIs netoops uses that `kernel::bindings` does not carry.
 * bindgen runs on this header at build time, against KDIR's own headers and
 * with KDIR's own compiler flags, so every struct layout matches the kernel
 * the module is built for. Nothing here is a hand-written layout.
 */
#include <linux/kmsg_dump.h>
#include <linux/netdevice.h>
