//! Shared helpers of the protocomm integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::PathBuf;

pub mod pair;

use rand_core::{TryCryptoRng, TryRng};
use serde_json::Value;

/// An RNG that hands out pre-recorded bytes, so that transcripts replay exactly. Running dry
/// is a test failure.
#[derive(Default)]
pub struct ScriptedRng {
    bytes: VecDeque<u8>,
}

impl ScriptedRng {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend(bytes.iter().copied());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl TryRng for ScriptedRng {
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
        for d in dst {
            *d = self
                .bytes
                .pop_front()
                .expect("the scripted RNG ran out of recorded bytes");
        }
        Ok(())
    }
}

impl TryCryptoRng for ScriptedRng {}

/// The operating system's RNG.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors/protocomm")
}

pub fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

pub fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

/// The value of the first key of `obj` that starts with `prefix` (vector keys carry
/// explanations after the name).
pub fn field<'a>(obj: &'a Value, prefix: &str) -> &'a Value {
    obj.as_object()
        .expect("object")
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no key starting with {prefix:?}"))
}
