//! Helpers shared by the fuzz targets in `fuzz_targets/`: input framing, the endpoint table
//! and a deterministic RNG. The byte layouts described here are also what `seed_corpus.sh`
//! writes, so keep the two in step.

use core::convert::Infallible;
use protocomm::rand_core::{TryCryptoRng, TryRng};

/// Endpoint names a selector byte maps to (`selector % 7`). Index 5 is registered as a custom
/// endpoint by the device targets; index 6 is never registered.
pub const ENDPOINTS: [&str; 7] = [
    "proto-ver",
    "prov-session",
    "prov-config",
    "prov-scan",
    "prov-ctrl",
    "custom-data",
    "no-such-endpoint",
];

/// The custom endpoint the device targets register.
pub const CUSTOM_ENDPOINT: &str = "custom-data";

/// Picks an endpoint name from a selector byte.
pub fn endpoint(selector: u8) -> &'static str {
    ENDPOINTS[usize::from(selector) % ENDPOINTS.len()]
}

/// Splits `data` into `[len: u8][len bytes]` frames. A truncated last frame yields whatever is
/// left, so every input is valid.
pub fn frames(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    core::iter::from_fn(move || {
        let (&len, rest) = data.split_first()?;
        let take = usize::from(len).min(rest.len());
        let (frame, tail) = rest.split_at(take);
        data = tail;
        Some(frame)
    })
}

/// Splits `data` into `[selector: u8][len: u8][len bytes]` records.
pub fn records(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    core::iter::from_fn(move || {
        let (&selector, rest) = data.split_first()?;
        let (len, rest) = match rest.split_first() {
            Some((&len, rest)) => (usize::from(len), rest),
            None => (0, rest),
        };
        let (frame, tail) = rest.split_at(len.min(rest.len()));
        data = tail;
        Some((selector, frame))
    })
}

const fn unhex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 2 * N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// The device's draws in `testdata/vectors/protocomm/sec1.json`: X25519 private key, then
/// `device_random`. Replaying them lets the seed transcript's `Cmd1` and application
/// ciphertexts be accepted, so the fuzzer starts past the handshake.
pub const SEC1_DEVICE_DRAWS: [u8; 48] = unhex(
    "5059b06df2a55d512838ba5a2000601097abe2dd00a9f7663b774120b2d23803\
     c24be427d4cfbcb4913ce9cac2dce03d",
);

/// The client's draw in `sec1.json` (its X25519 private key), for the same reason.
pub const SEC1_CLIENT_DRAWS: [u8; 32] =
    unhex("962b4439755334c4caf032634964a76afa11006fe05d7826ff50c817730b7e8f");

/// The PoP of `sec1.json`.
pub const SEC1_POP: &str = "abcd1234";

/// A deterministic "crypto" RNG: first replays `script`, then continues with SplitMix64.
/// Never use outside fuzzing.
#[derive(Clone, Debug)]
pub struct ReplayRng {
    script: &'static [u8],
    state: u64,
}

impl ReplayRng {
    /// An RNG that yields `script` first.
    pub fn new(script: &'static [u8]) -> Self {
        ReplayRng {
            script,
            state: 0x5eed_f00d_cafe_d00d,
        }
    }

    fn splitmix(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl TryRng for ReplayRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let from_script = dst.len().min(self.script.len());
        let (head, tail) = dst.split_at_mut(from_script);
        head.copy_from_slice(&self.script[..from_script]);
        self.script = &self.script[from_script..];
        for chunk in tail.chunks_mut(8) {
            let word = self.splitmix().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for ReplayRng {}
