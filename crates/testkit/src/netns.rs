//! Network namespaces and veth pairs for tests, removed on drop even when a test fails.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::cmd;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call: `prefix`, the pid (mod 100 000), `x`, a counter.
/// With a prefix of up to 4 characters, the name plus a one-letter suffix fits an interface
/// name (15 characters).
pub fn unique_name(prefix: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// A network namespace. Dropping it deletes the namespace, which removes every interface
/// inside it (and the host end of a veth whose other end is inside), and deletes the host
/// ends of veth pairs made by [`Netns::veth_from_host`] that are still there.
#[derive(Debug)]
pub struct Netns {
    name: String,
    host_links: Vec<String>,
}

impl Netns {
    /// Creates the namespace `name` (deleting a stale one of that name first). Panics if
    /// `ip netns add` fails.
    pub fn create(name: impl Into<String>) -> Netns {
        let name = name.into();
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        cmd::ip(&["netns", "add", &name]);
        Netns {
            name,
            host_links: Vec::new(),
        }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <namespace> args…`; panics unless it succeeds.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        cmd::ip(&all);
    }

    /// The command prefix that runs a program inside the namespace (`ip netns exec <name>`).
    pub fn exec_prefix(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.name]
    }

    /// Creates the veth pair `a`–`b` inside the namespace and brings `lo`, `a` and `b` up.
    pub fn veth_pair(&self, a: &str, b: &str) {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
        for dev in ["lo", a, b] {
            self.ip(&["link", "set", dev, "up"]);
        }
    }

    /// Creates the veth pair `inner`–`outer` in the host, moves `inner` into the namespace
    /// and brings `lo` and `inner` (inside) and `outer` (in the host) up.
    pub fn veth_from_host(&mut self, inner: &str, outer: &str) {
        cmd::ip(&["link", "add", inner, "type", "veth", "peer", "name", outer]);
        self.host_links.push(outer.to_owned());
        cmd::ip(&["link", "set", inner, "netns", &self.name]);
        self.ip(&["link", "set", "lo", "up"]);
        self.ip(&["link", "set", inner, "up"]);
        cmd::ip(&["link", "set", outer, "up"]);
    }

    /// Adds the address `cidr` (e.g. `10.77.0.2/24`) to `dev` inside the namespace.
    pub fn add_address(&self, dev: &str, cidr: &str) {
        self.ip(&["addr", "add", cidr, "dev", dev]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        for link in &self.host_links {
            // Usually gone with its peer already; this only matters if the move failed.
            let _ = Command::new("ip").args(["link", "del", link]).output();
        }
    }
}
