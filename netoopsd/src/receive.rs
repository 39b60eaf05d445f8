//! UDP reception: binds IPv4/IPv6 sockets and receives datagrams in batches with
//! `recvmmsg(2)`, reading the socket's own drop counter (`SO_RXQ_OVFL`) as it goes.

use std::io::IoSliceMut;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvmmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage,
};
use socket2::{Domain, Protocol, Socket, Type};

/// The collector's default UDP port (the module's default remote port).
pub const DEFAULT_PORT: u16 = 6667;

/// Largest datagram received whole (receivers accept packets up to 65535 bytes).
const MAX_DATAGRAM: usize = 65536;

/// How long reception lets datagrams queue up after a call that received some without
/// filling a batch: 75 datagrams at 150,000 a second, a few percent of what a 4 MiB socket
/// buffer holds; the delay it adds to a dump is below a millisecond.
pub const LINGER: Duration = Duration::from_micros(500);

/// Binds one UDP socket per address. An IPv6 wildcard address also receives IPv4 (dual
/// stack) unless an IPv4 address is bound as well. `rcvbuf` is the socket receive buffer
/// asked for (the kernel may cap it at `net.core.rmem_max`).
pub fn bind(addrs: &[SocketAddr], rcvbuf: usize) -> Result<Vec<UdpSocket>, String> {
    let any_v4 = addrs.iter().any(SocketAddr::is_ipv4);
    addrs
        .iter()
        .map(|a| {
            let err = |what: &str, e: std::io::Error| format!("{a}: {what}: {e}");
            let domain = if a.is_ipv4() {
                Domain::IPV4
            } else {
                Domain::IPV6
            };
            let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
                .map_err(|e| err("cannot create socket", e))?;
            if a.is_ipv6() {
                s.set_only_v6(any_v4).map_err(|e| err("IPV6_V6ONLY", e))?;
            }
            // Best effort: a smaller buffer only means earlier drops, which are counted (and
            // said: see `capped_buffers`).
            let _ = s.set_recv_buffer_size(rcvbuf);
            s.bind(&(*a).into()).map_err(|e| err("cannot bind", e))?;
            s.set_nonblocking(true).map_err(|e| err("O_NONBLOCK", e))?;
            let u: UdpSocket = s.into();
            setsockopt(&u, sockopt::RxqOvfl, &1).map_err(|e| format!("{a}: SO_RXQ_OVFL: {e}"))?;
            Ok(u)
        })
        .collect()
}

/// A line for each socket whose receive buffer the kernel granted smaller than the `asked`
/// (`net.core.rmem_max` caps what an unprivileged process gets): that buffer is all that holds
/// a burst while the receiving thread waits for the CPU. Linux reports twice the size it
/// grants (the rest is its bookkeeping).
pub fn capped_buffers(sockets: &[UdpSocket], asked: usize) -> Vec<String> {
    let rmem_max = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let why = match rmem_max {
        Some(m) => format!("net.core.rmem_max is {m}"),
        None => "net.core.rmem_max caps it".to_string(),
    };
    sockets
        .iter()
        .filter_map(|s| {
            let got = socket2::SockRef::from(s).recv_buffer_size().ok()? / 2;
            let a = s.local_addr().ok()?;
            (got < asked).then(|| {
                format!(
                    "netoopsd: {a}: socket receive buffer of {got} bytes, not the {asked} asked for (--rcvbuf): {why}; a burst beyond it is dropped while the receiving thread waits for the CPU (sysctl -w net.core.rmem_max={asked} raises it)"
                )
            })
        })
        .collect()
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) as IPv4.
pub fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        a => a,
    }
}

fn to_std(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    s.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// The kernel's drop count of socket `s`: the `drops` column of its line (found by inode) in
/// `/proc/self/net/udp` or `udp6` (the process's own network namespace; visible under
/// systemd's `ProcSubset=pid`, unlike `/proc/net`).
fn proc_drops(s: &UdpSocket) -> Option<u64> {
    let inode = nix::sys::stat::fstat(s.as_fd()).ok()?.st_ino.to_string();
    ["/proc/self/net/udp", "/proc/self/net/udp6"]
        .iter()
        .find_map(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            text.lines().skip(1).find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
                (f.get(9) == Some(&inode.as_str())).then(|| f.last()?.parse().ok())?
            })
        })
}

/// Batched reception over a set of sockets.
pub struct Receiver {
    sockets: Vec<UdpSocket>,
    bufs: Vec<Vec<u8>>,
    /// One set of message headers per socket, reused from call to call: the kernel sets a
    /// header's address length to its socket's family's, the same each time.
    headers: Vec<MultiHeaders<SockaddrStorage>>,
    /// Whether each call reads `SO_RXQ_OVFL` (with headers made afresh for it: the kernel
    /// shrinks a header's control length to what it used, nothing until the first drop, and
    /// the count would then no longer fit). Only where `/proc/self/net` cannot be read:
    /// [`Receiver::socket_drops`] reads the kernel's count there, which also covers drops
    /// after the last datagram.
    rxq_ovfl: bool,
    drops: Vec<u32>,
    /// The last call filled a batch.
    full: bool,
    /// The last call received datagrams without filling a batch.
    busy: bool,
    /// How long to let datagrams queue up after a call that received some without filling a
    /// batch ([`LINGER`]).
    pub linger: Duration,
    /// `recvmmsg` calls that returned datagrams.
    pub batches: u64,
}

impl Receiver {
    /// Receives on `sockets`, up to `batch` datagrams per system call.
    pub fn new(sockets: Vec<UdpSocket>, batch: usize) -> Self {
        let rxq_ovfl = !sockets.iter().all(|s| proc_drops(s).is_some());
        Self::with_rxq_ovfl(sockets, batch, rxq_ovfl)
    }

    fn with_rxq_ovfl(sockets: Vec<UdpSocket>, batch: usize, rxq_ovfl: bool) -> Self {
        let batch = batch.max(1);
        Receiver {
            drops: vec![0; sockets.len()],
            headers: sockets
                .iter()
                .map(|_| Self::headers(batch, rxq_ovfl))
                .collect(),
            sockets,
            bufs: vec![vec![0; MAX_DATAGRAM]; batch],
            rxq_ovfl,
            full: false,
            busy: false,
            linger: LINGER,
            batches: 0,
        }
    }

    fn headers(batch: usize, rxq_ovfl: bool) -> MultiHeaders<SockaddrStorage> {
        MultiHeaders::preallocate(batch, rxq_ovfl.then(|| nix::cmsg_space!(u32)))
    }

    /// The addresses the sockets are bound to.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Datagrams the kernel dropped because a socket's receive buffer was full: the
    /// socket's own count in `/proc/self/net/udp` (`drops`), which also covers drops after the
    /// last datagram received; `SO_RXQ_OVFL` (which comes only with a received datagram)
    /// where that file cannot be read.
    pub fn socket_drops(&self) -> u64 {
        self.sockets
            .iter()
            .zip(&self.drops)
            .map(|(s, &seen)| proc_drops(s).unwrap_or(0).max(u64::from(seen)))
            .sum()
    }

    /// Waits up to `timeout` for datagrams, then receives what is queued (one batch per
    /// ready socket) and calls `f(payload, sender)` for each. Returns the number received.
    /// After a full batch, which says more is likely queued, it first receives without
    /// waiting: under load, one system call per batch instead of two. After a batch that was
    /// not full, it first sleeps [`Receiver::linger`] (at most `timeout`), then receives
    /// without waiting: under load, one wake per batch, not one per datagram.
    pub fn recv(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(&[u8], IpAddr),
    ) -> Result<usize, String> {
        // (At most one of the two: `recv_from` sets `busy` only when no batch was full.)
        let (full, busy) = (
            std::mem::take(&mut self.full),
            std::mem::take(&mut self.busy),
        );
        let linger = busy && !self.linger.is_zero();
        if full || linger {
            if linger {
                // Datagrams are coming, but slower than they are taken: let them queue up for
                // a moment, then take them in one call, instead of being woken for each one
                // (which, on a loaded machine, also preempts whoever is running each time).
                std::thread::sleep(self.linger.min(timeout));
            }
            let every = vec![true; self.sockets.len()];
            let got = self.recv_from(&every, &mut f)?;
            if got > 0 {
                return Ok(got);
            }
        }
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = self
                .sockets
                .iter()
                .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
                .collect();
            let ms = timeout.as_millis().min(u128::from(u16::MAX)) as u16;
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("poll: {e}")),
            }
            fds.iter()
                .map(|p| p.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
                .collect()
        };
        self.recv_from(&ready, &mut f)
    }

    /// One batch from each socket marked in `which`, without waiting.
    fn recv_from(
        &mut self,
        which: &[bool],
        f: &mut impl FnMut(&[u8], IpAddr),
    ) -> Result<usize, String> {
        let mut total = 0;
        for (i, _) in which.iter().enumerate().filter(|(_, &w)| w) {
            let fd = self.sockets[i].as_raw_fd();
            if self.rxq_ovfl {
                self.headers[i] = Self::headers(self.bufs.len(), true);
            }
            let rxq_ovfl = self.rxq_ovfl;
            let got: Vec<(usize, Option<SocketAddr>, Option<u32>)> = {
                let mut iovs: Vec<[IoSliceMut<'_>; 1]> = self
                    .bufs
                    .iter_mut()
                    .map(|b| [IoSliceMut::new(&mut b[..])])
                    .collect();
                match recvmmsg(
                    fd,
                    &mut self.headers[i],
                    iovs.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                ) {
                    Ok(res) => res
                        .map(|r| {
                            let cmsgs = rxq_ovfl.then(|| r.cmsgs().ok()).flatten();
                            let drops = cmsgs.and_then(|mut c| {
                                c.find_map(|m| match m {
                                    ControlMessageOwned::RxqOvfl(n) => Some(n),
                                    _ => None,
                                })
                            });
                            (r.bytes, r.address.as_ref().and_then(to_std), drops)
                        })
                        .collect(),
                    Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Vec::new(),
                    Err(e) => {
                        let at = self.sockets[i]
                            .local_addr()
                            .map(|a| a.to_string())
                            .unwrap_or_default();
                        return Err(format!("{at}: recvmmsg: {e}"));
                    }
                }
            };
            if !got.is_empty() {
                self.batches += 1;
            }
            self.full |= got.len() == self.bufs.len();
            for (j, (len, from, drops)) in got.into_iter().enumerate() {
                if let Some(d) = drops {
                    self.drops[i] = self.drops[i].max(d);
                }
                let ip = from.map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |a| {
                    canonical(a.ip())
                });
                f(&self.bufs[j][..len.min(MAX_DATAGRAM)], ip);
                total += 1;
            }
        }
        self.busy = total > 0 && !self.full;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_over_v4_and_v6_loopback() {
        // Headers kept from call to call, and made afresh for SO_RXQ_OVFL.
        for rxq_ovfl in [false, true] {
            batches_over_v4_and_v6(rxq_ovfl);
        }
    }

    fn batches_over_v4_and_v6(rxq_ovfl: bool) {
        let socks = bind(
            &["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()],
            1 << 20,
        );
        let Ok(socks) = socks else {
            // No IPv6 on this machine: IPv4 alone.
            return batches_over_v4_only();
        };
        let mut r = Receiver::with_rxq_ovfl(socks, 8, rxq_ovfl);
        let addrs = r.local_addrs();
        let tx4 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx6 = UdpSocket::bind("[::1]:0").unwrap();
        for i in 0..20u8 {
            tx4.send_to(&[i; 100], addrs[0]).unwrap();
        }
        tx6.send_to(&[7; 3000], addrs[1]).unwrap();
        let mut got = Vec::new();
        for _ in 0..20 {
            r.recv(Duration::from_millis(200), |p, from| {
                got.push((p.to_vec(), from))
            })
            .unwrap();
            if got.len() == 21 {
                break;
            }
        }
        assert_eq!(got.len(), 21);
        assert!(got.iter().any(|(p, f)| p.len() == 3000 && f.is_ipv6()));
        assert_eq!(
            got.iter()
                .filter(|(p, f)| p.len() == 100 && *f == IpAddr::from([127, 0, 0, 1]))
                .count(),
            20
        );
        assert!(r.batches >= 3, "20 datagrams in batches of 8");
        assert_eq!(r.socket_drops(), 0);
        // Nothing queued: returns after the timeout.
        assert_eq!(r.recv(Duration::from_millis(10), |_, _| {}).unwrap(), 0);
    }

    fn batches_over_v4_only() {
        let mut r = Receiver::new(bind(&["127.0.0.1:0".parse().unwrap()], 1 << 20).unwrap(), 4);
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"x", r.local_addrs()[0]).unwrap();
        let mut n = 0;
        r.recv(Duration::from_secs(1), |_, _| n += 1).unwrap();
        assert_eq!(n, 1);
    }

    /// Datagrams that come a few at a time, slower than they are taken, are taken in batches
    /// after a linger, not one wake (and one system call) each.
    #[test]
    fn datagrams_trickling_in_are_taken_in_batches() {
        // (Without the linger: 146-248 batches here; with it, 14-15.)
        let mut r = Receiver::new(
            bind(&["127.0.0.1:0".parse().unwrap()], 1 << 20).unwrap(),
            64,
        );
        let to = r.local_addrs()[0];
        // 400 datagrams, one every 20 us (waited for without sleeping, whose slack is
        // longer): 8 ms.
        let sender = std::thread::spawn(move || {
            let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
            let start = std::time::Instant::now();
            for i in 0..400u16 {
                while start.elapsed() < Duration::from_micros(20) * u32::from(i) {
                    std::hint::spin_loop();
                }
                tx.send_to(&i.to_le_bytes(), to).unwrap();
            }
        });
        let mut got = Vec::new();
        while got.len() < 400 {
            let n = r
                .recv(Duration::from_secs(2), |p, _| got.push(p.to_vec()))
                .unwrap();
            assert!(n > 0, "{} of 400 received", got.len());
        }
        sender.join().unwrap();
        let expected: Vec<Vec<u8>> = (0..400u16).map(|i| i.to_le_bytes().to_vec()).collect();
        assert_eq!(got, expected);
        assert!(r.batches <= 50, "{} batches for 400 datagrams", r.batches);
    }

    #[test]
    fn drops_after_the_last_datagram_received_are_counted() {
        // A small buffer filled while nobody reads: every datagram beyond it is dropped, and
        // no datagram is received after the drops to carry SO_RXQ_OVFL's count.
        let r = Receiver::new(bind(&["127.0.0.1:0".parse().unwrap()], 4096).unwrap(), 4);
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..200 {
            tx.send_to(&[0; 1000], r.local_addrs()[0]).unwrap();
        }
        assert!(r.socket_drops() > 100, "{} drops counted", r.socket_drops());
    }

    #[test]
    fn drops_come_with_the_next_datagram_without_proc() {
        // The fallback where /proc/self/net cannot be read: SO_RXQ_OVFL's count, which comes
        // with the first datagram received after the drops (and headers made for each call).
        let mut r = Receiver::with_rxq_ovfl(
            bind(&["127.0.0.1:0".parse().unwrap()], 4096).unwrap(),
            4,
            true,
        );
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        // One call before the drops: a header the kernel shrank would not fit the count.
        tx.send_to(b"x", r.local_addrs()[0]).unwrap();
        assert_eq!(r.recv(Duration::from_secs(1), |_, _| {}).unwrap(), 1);
        for _ in 0..200 {
            tx.send_to(&[0; 1000], r.local_addrs()[0]).unwrap();
        }
        while r.recv(Duration::from_millis(50), |_, _| {}).unwrap() > 0 {}
        tx.send_to(b"x", r.local_addrs()[0]).unwrap();
        r.recv(Duration::from_secs(1), |_, _| {}).unwrap();
        assert!(r.drops[0] > 100, "{} drops seen", r.drops[0]);
    }

    #[test]
    fn bind_errors_name_the_address() {
        let a = bind(&["127.0.0.1:0".parse().unwrap()], 1 << 16).unwrap();
        let taken = a[0].local_addr().unwrap();
        let e = bind(&[taken], 1 << 16).unwrap_err();
        assert!(e.starts_with(&format!("{taken}: cannot bind")), "{e}");
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let m: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical(m), "10.1.2.3".parse::<IpAddr>().unwrap());
    }
}
