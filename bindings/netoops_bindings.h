/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel C APIs netoops uses that `kernel::bindings` does not carry.
 * bindgen runs on this header at build time, against KDIR's own headers and
 * with KDIR's own compiler flags, so every struct layout matches the kernel
 * the module is built for. Nothing here is a hand-written layout.
 */
#include <linux/kmsg_dump.h>
#include <linux/netdevice.h>
#include <linux/netpoll.h>
#include <linux/skbuff.h>
#include <linux/inetdevice.h>
#include <linux/rtnetlink.h>
#include <linux/sysrq.h>
#include <linux/delay.h>
#include <linux/if_ether.h>
#include <net/addrconf.h>
#include <net/arp.h>
#include <net/ndisc.h>
#include <net/neighbour.h>
#include <net/route.h>
#include <net/ip6_route.h>

/*
 * Accessors for fields that sit in anonymous unions or behind macros, whose bindgen names
 * would change with the kernel config. bindgen wraps these static inline functions like any
 * other (bindings_wrappers.c), so the C compiler, not a hand-written layout, finds the fields.
 */
static inline void netoops_skb_set_dev(struct sk_buff *skb, struct net_device *dev)
{
	skb->dev = dev;
}

static inline void netoops_skb_set_protocol(struct sk_buff *skb, __be16 proto)
{
	skb->protocol = proto;
}

static inline unsigned int netoops_dev_ll_reserved_space(const struct net_device *dev)
{
	return LL_RESERVED_SPACE(dev);
}

static inline unsigned int netoops_dev_needed_tailroom(const struct net_device *dev)
{
	return dev->needed_tailroom;
}

static inline unsigned int netoops_dev_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}

static inline const char *netoops_dev_name(const struct net_device *dev)
{
	return dev->name;
}

static inline const unsigned char *netoops_dev_addr(const struct net_device *dev)
{
	return dev->dev_addr;
}

static inline unsigned char netoops_dev_addr_len(const struct net_device *dev)
{
	return dev->addr_len;
}

static inline int netoops_dev_ifindex(const struct net_device *dev)
{
	return dev->ifindex;
}

static inline unsigned short netoops_dev_type(const struct net_device *dev)
{
	return dev->type;
}

/* The IPv4 next hop for daddr out of dev: the route's gateway, or daddr when on-link. */
static inline __be32 netoops_ipv4_next_hop(struct net_device *dev, __be32 daddr)
{
	struct flowi4 fl4 = { .daddr = daddr, .flowi4_oif = dev->ifindex };
	struct rtable *rt = ip_route_output_key(dev_net(dev), &fl4);
	__be32 hop = daddr;

	if (IS_ERR(rt))
		return daddr;
	if (rt->rt_gw_family == AF_INET)
		hop = rt->rt_gw4;
	ip_rt_put(rt);
	return hop;
}

/* The IPv6 next hop for daddr out of dev: the route's gateway, or daddr when on-link. */
static inline void netoops_ipv6_next_hop(struct net_device *dev, const struct in6_addr *daddr,
					 struct in6_addr *hop)
{
	*hop = *daddr;
#if IS_ENABLED(CONFIG_IPV6)
	{
		struct flowi6 fl6 = { .daddr = *daddr, .flowi6_oif = dev->ifindex };
		struct dst_entry *dst = ip6_route_output(dev_net(dev), NULL, &fl6);

		if (!dst->error) {
			struct rt6_info *rt = dst_rt6_info(dst);

			if (rt->rt6i_flags & RTF_GATEWAY)
				*hop = rt->rt6i_gateway;
		}
		dst_release(dst);
	}
#endif
}

static inline u8 netoops_neigh_nud_state(const struct neighbour *n)
{
	return READ_ONCE(n->nud_state);
}

/* INIT_WORK is a macro (it also sets up the lockdep map): wrap it. */
static inline void netoops_init_work(struct work_struct *work, work_func_t func)
{
	INIT_WORK(work, func);
}

/* Crash content: die notifier, registers, CPU, DMI, utsname, taint, clocks. */
#include <linux/kdebug.h>
#include <linux/dmi.h>
#include <linux/utsname.h>
#include <linux/kernel_read_file.h>
#include <linux/timekeeping.h>
#include <linux/panic.h>
#include <linux/smp.h>
#ifdef CONFIG_X86
#include <asm/processor.h>
#include <asm/cpuid/api.h>
#include <asm/ptrace.h>
#endif

/* pt_regs in the kernel's own field order (cs and ss sit in unions on x86_64). */
#ifdef CONFIG_X86_64
static inline void netoops_pt_regs_fields(const struct pt_regs *r, u64 out[21])
{
	out[0] = r->r15; out[1] = r->r14; out[2] = r->r13; out[3] = r->r12;
	out[4] = r->bp; out[5] = r->bx; out[6] = r->r11; out[7] = r->r10;
	out[8] = r->r9; out[9] = r->r8; out[10] = r->ax; out[11] = r->cx;
	out[12] = r->dx; out[13] = r->si; out[14] = r->di; out[15] = r->orig_ax;
	out[16] = r->ip; out[17] = r->cs; out[18] = r->flags; out[19] = r->sp;
	out[20] = r->ss;
}

static inline void netoops_cpuid(unsigned int leaf, unsigned int out[4])
{
	cpuid(leaf, &out[0], &out[1], &out[2], &out[3]);
}

static inline u32 netoops_microcode(void)
{
	return boot_cpu_data.microcode;
}
#endif

static inline const struct pt_regs *netoops_die_args_regs(const struct die_args *args)
{
	return args->regs;
}

static inline int netoops_this_cpu(void)
{
	return raw_smp_processor_id();
}

static inline const char *netoops_uts_release(void) { return init_uts_ns.name.release; }
static inline const char *netoops_uts_version(void) { return init_uts_ns.name.version; }
static inline const char *netoops_uts_nodename(void) { return init_uts_ns.name.nodename; }
static inline const char *netoops_uts_machine(void) { return init_uts_ns.name.machine; }

/*
 * The running kernel's ELF notes, where its GNU build-id note is: /sys/kernel/notes gives
 * vmlinux's .notes section as the kernel has it in memory (kernel/ksysfs.c). The kernel's own
 * copy of the build id, vmlinux_build_id, is not exported to modules. Reads at most `size`
 * bytes into `buf` (no allocation); process context only. Returns the bytes read or -errno.
 */
static inline ssize_t netoops_read_kernel_notes(void *buf, size_t size)
{
	size_t file_size;

	return kernel_read_file_from_path("/sys/kernel/notes", 0, &buf, size, &file_size,
					  READING_UNKNOWN);
}

/*
 * Whether a frame handed to netpoll now would go out at once: the checks netpoll's
 * __netpoll_send_skb makes before it defers a frame to its own queue (which only a workqueue
 * empties, and in a panic no workqueue runs again), made on the queue it will pick for `skb`
 * (netdev_core_pick_tx, which modules cannot call: the same steps, with the exported pieces).
 * Returns NETOOPS_XMIT_READY, NETOOPS_XMIT_BUSY (try again after polling) or NETOOPS_XMIT_DEAD
 * (nothing this dump can wait for). Callable in any context, interrupts off.
 */
enum {
	NETOOPS_XMIT_READY = 0,
	NETOOPS_XMIT_BUSY = 1,
	NETOOPS_XMIT_DEAD = 2,
};

/*
 * Whether a NAPI poll of `dev` was interrupted on this CPU (its driver is in the middle of it:
 * netpoll would defer, and nothing may re-enter the driver). Under rcu_read_lock().
 */
static inline bool netoops_napi_polled_here(struct net_device *dev)
{
	struct napi_struct *napi;

	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list)
		if (READ_ONCE(napi->poll_owner) == raw_smp_processor_id())
			return true;
	return false;
}

static inline int netoops_xmit_state(struct net_device *dev, struct sk_buff *skb, bool panicking)
{
	struct netpoll_info *npinfo;
	struct netdev_queue *txq;
	int queue_index = 0, owner, ret = NETOOPS_XMIT_READY;

	if (!netif_running(dev) || !netif_device_present(dev) || !netif_carrier_ok(dev))
		return NETOOPS_XMIT_DEAD;
	rcu_read_lock();
	npinfo = rcu_dereference(dev->npinfo);
	if (!npinfo) {
		ret = NETOOPS_XMIT_DEAD;
		goto out;
	}
	/* Frames netpoll deferred earlier: it defers every later one behind them. */
	if (skb_queue_len(&npinfo->txq)) {
		ret = panicking ? NETOOPS_XMIT_DEAD : NETOOPS_XMIT_BUSY;
		goto out;
	}
	if (netoops_napi_polled_here(dev)) {
		ret = NETOOPS_XMIT_DEAD;
		goto out;
	}
	if (dev->real_num_tx_queues != 1) {
		const struct net_device_ops *ops = dev->netdev_ops;

		if (ops->ndo_select_queue)
			queue_index = ops->ndo_select_queue(dev, skb, NULL);
		else
			queue_index = netdev_pick_tx(dev, skb, NULL);
		queue_index = netdev_cap_txqueue(dev, queue_index);
	}
	txq = netdev_get_tx_queue(dev, queue_index);
	if (!dev->lltx) {
		owner = READ_ONCE(txq->xmit_lock_owner);
		/* Held by this CPU (we interrupted a transmit), or by a CPU the panic stopped. */
		if (owner == raw_smp_processor_id() || (owner != -1 && panicking)) {
			ret = NETOOPS_XMIT_DEAD;
			goto out;
		}
		if (owner != -1) {
			ret = NETOOPS_XMIT_BUSY;
			goto out;
		}
	}
	if (netif_xmit_stopped(txq))
		ret = NETOOPS_XMIT_BUSY;
out:
	rcu_read_unlock();
	return ret;
}

/*
 * Whether polling the device (netpoll_poll_dev: every NAPI instance, whose transmit completion
 * takes its queue's lock with a plain spin_lock) cannot deadlock from here: no transmit queue's
 * lock is held by this CPU (we interrupted its holder), nor, in a panic, by any other CPU (it
 * was stopped holding it). For NMI context, where only this check stands between a poll and a
 * lock that never comes free.
 */
static inline bool netoops_poll_is_safe(struct net_device *dev, bool panicking)
{
	unsigned int i;

	if (dev->lltx)
		return false;
	for (i = 0; i < dev->num_tx_queues; i++) {
		int owner = READ_ONCE(netdev_get_tx_queue(dev, i)->xmit_lock_owner);

		if (owner == raw_smp_processor_id() || (panicking && owner != -1))
			return false;
	}
	return true;
}

/*
 * Sends the frames netpoll deferred to its own queue (when the device stayed busy past
 * netpoll's retries: an earlier dump's, or this one's), as netpoll's queue_process() would, for
 * netpoll queues every later frame behind them. Its work item cannot send them while a dump
 * holds this CPU (the work waits for this CPU, and a dump never sleeps), nor at all once a panic
 * stopped the other CPUs: until they leave, every frame of the dump would wait for nothing.
 * Trylocks only (another CPU, stopped or running the work, may hold either lock); in a panic,
 * lock debugging off for good first, as panic() turns it off. Returns whether the queue is
 * empty afterwards.
 */
static inline bool netoops_netpoll_flush_deferred(struct net_device *dev, bool panicking)
{
	struct netpoll_info *npinfo;
	struct sk_buff *skb;
	unsigned long flags;
	bool empty = false;

	rcu_read_lock();
	npinfo = rcu_dereference(dev->npinfo);
	if (!npinfo || !skb_queue_len(&npinfo->txq)) {
		empty = true;
		goto out;
	}
	if (!netif_running(dev) || !netif_device_present(dev))
		goto out;
	if (netoops_napi_polled_here(dev))
		goto out;
	if (panicking)
		debug_locks_off();
	local_irq_save(flags);
	if (!spin_trylock(&npinfo->txq.lock))
		goto out_irq;
	while ((skb = __skb_dequeue(&npinfo->txq))) {
		unsigned int q_index = skb_get_queue_mapping(skb);
		struct netdev_queue *txq;
		netdev_tx_t status = NETDEV_TX_BUSY;

		if (unlikely(q_index >= dev->real_num_tx_queues)) {
			q_index = q_index % dev->real_num_tx_queues;
			skb_set_queue_mapping(skb, q_index);
		}
		txq = netdev_get_tx_queue(dev, q_index);
		if (HARD_TX_TRYLOCK(dev, txq)) {
			if (!netif_xmit_frozen_or_stopped(txq))
				status = netdev_start_xmit(skb, dev, txq, false);
			HARD_TX_UNLOCK(dev, txq);
		}
		if (!dev_xmit_complete(status)) {
			__skb_queue_head(&npinfo->txq, skb);
			break;
		}
	}
	empty = !skb_queue_len(&npinfo->txq);
	spin_unlock(&npinfo->txq.lock);
out_irq:
	local_irq_restore(flags);
out:
	rcu_read_unlock();
	return empty;
}

/*
 * Test kernels' fault (test_fault=defer-in-dump): hands `skb` (a finished frame for `dev`) to
 * netpoll's own queue as netpoll does when the device stays busy past its retries, but without
 * scheduling the work that would send it, as when a panic follows before that work runs.
 */
static inline void netoops_test_defer(struct net_device *dev, struct sk_buff *skb)
{
	struct netpoll_info *npinfo;

	rcu_read_lock();
	npinfo = rcu_dereference(dev->npinfo);
	if (npinfo)
		skb_queue_tail(&npinfo->txq, skb);
	else
		dev_kfree_skb_any(skb);
	rcu_read_unlock();
}

/* Whether netpoll deferred a frame to its own queue (so it did not go out). */
static inline bool netoops_netpoll_deferred(struct net_device *dev)
{
	struct netpoll_info *npinfo;
	bool deferred;

	rcu_read_lock();
	npinfo = rcu_dereference(dev->npinfo);
	deferred = npinfo && skb_queue_len(&npinfo->txq);
	rcu_read_unlock();
	return deferred;
}

/*
 * Poll the device as netpoll does (reclaims finished transmit buffers), interrupts off. On
 * PREEMPT_RT in task context, bottom halves off instead: the driver's completion path takes
 * spinlock_t, which is a sleeping lock there and must not be taken with interrupts off (that is
 * how NAPI itself runs on RT). In RT's atomic contexts netoops_may_poll_rt() decides.
 */
static inline void netoops_netpoll_poll(struct net_device *dev)
{
	unsigned long flags;

	if (IS_ENABLED(CONFIG_PREEMPT_RT) && preemptible()) {
		local_bh_disable();
		netpoll_poll_dev(dev);
		local_bh_enable();
		return;
	}
	local_irq_save(flags);
	netpoll_poll_dev(dev);
	local_irq_restore(flags);
}

/* Puts a pool skb that was filled but not sent back to its empty state (it was never shared). */
static inline void netoops_skb_rewind(struct sk_buff *skb)
{
	skb->data = skb->head;
	skb->len = 0;
	skb_reset_tail_pointer(skb);
}

/* Crash-path context and ownership helpers. */
#include <linux/nmi.h>
#include <linux/irq_work.h>
#include <linux/hardirq.h>
#include <linux/sched.h>
#include <linux/cpumask.h>

static inline bool netoops_in_nmi(void) { return in_nmi(); }
/* PREEMPT_RT, and a context that may not sleep (interrupts or preemption off, hard irq, NMI). */
static inline bool netoops_rt_atomic(void)
{
	return IS_ENABLED(CONFIG_PREEMPT_RT) && !preemptible();
}
static inline bool netoops_in_hardirq(void) { return in_hardirq(); }
static inline void *netoops_current(void) { return current; }
static inline unsigned int netoops_nr_cpu_ids(void) { return nr_cpu_ids; }
static inline void netoops_touch_watchdogs(void) { touch_nmi_watchdog(); }

/* configfs: the kernel crate's attributes are all mode 0660 with a show method; a secret (the
 * sealing key) must never be readable back. Makes attribute `name` of `t` write-only (mode
 * 0200, no show: configfs refuses to open it for reading, root included). Call it before `t`
 * is registered. Returns whether the attribute was found. */
#include <linux/configfs.h>
#include <linux/string.h>
static inline bool netoops_configfs_write_only(struct config_item_type *t, const char *name)
{
	struct configfs_attribute **a;

	for (a = t->ct_attrs; a && *a; a++) {
		if (!strcmp((*a)->ca_name, name)) {
			(*a)->ca_mode = S_IWUSR;
			(*a)->show = NULL;
			return true;
		}
	}
	return false;
}

/* Zeroes memory in a way the compiler may not drop (key material). */
static inline void netoops_memzero_explicit(void *p, size_t n) { memzero_explicit(p, n); }
