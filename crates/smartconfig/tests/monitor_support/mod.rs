//! Shared by the live-capture tests: sending raw frames out of one end of a veth.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::net::if_::if_nametoindex;
use nix::sys::socket::{
    AddressFamily, LinkAddr, MsgFlags, SockFlag, SockProtocol, SockType, recvfrom, sendto,
    setsockopt, socket, sockopt,
};
use nix::sys::time::{TimeVal, TimeValLike};

/// Sends raw frames out of one interface through a packet socket.
///
/// `nix` has no safe way to build a `sockaddr_ll`, so the destination address (only its
/// interface index matters) is taken from a frame the kernel reports on that interface: a UDP
/// broadcast sent from the interface's address.
pub struct Injector {
    fd: OwnedFd,
    dest: LinkAddr,
    /// Frames sent so far.
    pub sent: usize,
}

impl Injector {
    /// An injector on `ifname`, whose address is `local_ip` in a subnet with `broadcast`.
    pub fn new(ifname: &str, local_ip: &str, broadcast: &str) -> Injector {
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::EthAll,
        )
        .unwrap();
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::milliseconds(100)).unwrap();
        let ifindex = if_nametoindex(ifname).unwrap() as usize;
        let udp = UdpSocket::bind(format!("{local_ip}:0")).unwrap();
        udp.set_broadcast(true).unwrap();
        let mut buf = vec![0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            udp.send_to(b"which interface", format!("{broadcast}:9"))
                .unwrap();
            loop {
                match recvfrom::<LinkAddr>(fd.as_raw_fd(), &mut buf) {
                    Ok((_, Some(addr))) if addr.ifindex() == ifindex => {
                        return Injector {
                            fd,
                            dest: addr,
                            sent: 0,
                        };
                    }
                    Ok(_) => continue,
                    Err(Errno::EAGAIN | Errno::EINTR) => break,
                    Err(e) => panic!("injector receive: {e}"),
                }
            }
        }
        panic!("no frame seen leaving {ifname}");
    }

    /// Sends one frame.
    pub fn send(&mut self, bytes: &[u8]) {
        let n = sendto(self.fd.as_raw_fd(), bytes, &self.dest, MsgFlags::empty()).unwrap();
        assert_eq!(n, bytes.len());
        self.sent += 1;
    }

    /// Sends `frames`, pausing now and then so the capture socket's buffer never overflows.
    pub fn send_all(&mut self, frames: &[Vec<u8>]) {
        for bytes in frames {
            self.send(bytes);
            if self.sent.is_multiple_of(16) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
