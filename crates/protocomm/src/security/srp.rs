//! SRP-6a exactly as the ESP-IDF device computes it, on top of the `srp` crate.
//!
//! Group: RFC 5054 3072-bit, `g = 5`; hash: SHA-512 everywhere.
//!
//! ```text
//! k = H(N || PAD(g))            x = H(salt || H(I ":" P))   (all 64 bytes of the inner digest)
//! v = g^x                       A = g^a (exactly 384 bytes)  B = k·v + g^b (minimal form)
//! u = H(PAD(A) || PAD(B))       K = H(S), S minimal
//! M = H(H(N) ⊕ H(PAD(g)) || H(I) || salt || A || B || K)     HAMK = H(A || M || K)
//! ```
//!
//! The leading-zero hazards of other implementations are handled here:
//! the client re-draws `a` until `A` fills 384 bytes; the verifier generator makes salts whose
//! first byte is non-zero and refuses credentials whose `H(I ":" P)` starts with `0x00` (those
//! disagree with esp_prov's verifiers); the device pads a short `A` for `u` and `S` but hashes
//! the received bytes in `M` and `HAMK`, and rejects `A ≡ 0 (mod N)`.
//!
//! Limitation: intermediate big integers inside the `srp` crate are not wiped on drop; every
//! secret this crate holds itself (passwords, `a`, `b`, `K`, verifiers) is.

use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Length of the group modulus in bytes.
pub const MODULUS_LEN: usize = 384;
/// Length of a SHA-512 digest, and of `M` and `HAMK`.
pub const PROOF_LEN: usize = 64;
/// Default salt length.
pub const DEFAULT_SALT_LEN: usize = 16;
/// Length of the private ephemerals `a` and `b`.
pub const EPHEMERAL_LEN: usize = 32;
/// How many times the client re-draws `a` before giving up (each draw fails with
/// probability 1/256, so this never happens with a working RNG).
const MAX_DRAWS: usize = 64;

pub(crate) type Server = srp::ServerG3072<Sha512>;
pub(crate) type Client = srp::ClientG3072<Sha512>;

/// The salt and verifier a security 2 device stores.
#[derive(Clone)]
pub struct Sec2Credentials {
    salt: Vec<u8>,
    verifier: Secret,
}

impl fmt::Debug for Sec2Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sec2Credentials")
            .field("salt_len", &self.salt.len())
            .field("verifier", &self.verifier)
            .finish()
    }
}

/// Options of [`Sec2Credentials::generate_with`].
#[derive(Clone, Copy, Debug)]
pub struct VerifierOptions {
    /// Salt length in bytes (default 16).
    pub salt_len: usize,
    /// Accept credentials whose `H(username ":" password)` starts with `0x00`. Such a verifier
    /// works with this crate, the C device and the phone apps, but not with esp_prov.
    pub allow_esp_prov_incompatible: bool,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        VerifierOptions {
            salt_len: DEFAULT_SALT_LEN,
            allow_esp_prov_incompatible: false,
        }
    }
}

impl Sec2Credentials {
    /// Accepts a salt and verifier generated elsewhere (e.g. `esp_prov --sec2_gen_cred`).
    pub fn new(salt: impl Into<Vec<u8>>, verifier: impl Into<Vec<u8>>) -> Result<Self> {
        let salt = salt.into();
        let verifier = Secret::new(verifier.into());
        if salt.is_empty() {
            return Err(Error::InvalidConfig("the SRP salt is empty"));
        }
        if verifier.is_empty() || verifier.len() > MODULUS_LEN {
            return Err(Error::InvalidConfig(
                "the SRP verifier must be 1 to 384 bytes",
            ));
        }
        if verifier.expose().iter().all(|b| *b == 0) {
            return Err(Error::InvalidConfig("the SRP verifier is zero"));
        }
        Ok(Sec2Credentials { salt, verifier })
    }

    /// Generates a 16-byte salt and the verifier for `username` and `password`.
    pub fn generate(
        username: &[u8],
        password: &Secret,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Self> {
        Self::generate_with(username, password, VerifierOptions::default(), rng)
    }

    /// Generates a salt of exactly `options.salt_len` bytes (first byte non-zero) and the
    /// verifier `g^x mod N` over the full 64-byte inner digest.
    pub fn generate_with(
        username: &[u8],
        password: &Secret,
        options: VerifierOptions,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Self> {
        if username.is_empty() {
            return Err(Error::InvalidConfig("the SRP username is empty"));
        }
        if options.salt_len == 0 || options.salt_len > 64 {
            return Err(Error::InvalidConfig(
                "the salt length must be 1 to 64 bytes",
            ));
        }
        if !options.allow_esp_prov_incompatible
            && identity_hash_starts_with_zero(username, password)
        {
            return Err(Error::InvalidConfig(
                "SHA-512(username:password) starts with 0x00, which esp_prov hashes differently; choose another password",
            ));
        }
        let mut salt = alloc::vec![0u8; options.salt_len];
        loop {
            rng.fill_bytes(&mut salt);
            if salt.first().is_some_and(|b| *b != 0) {
                break;
            }
        }
        let verifier = Client::new().compute_verifier(username, password.expose(), &salt);
        Self::new(salt, verifier)
    }

    /// The salt, sent verbatim to clients.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The verifier `v = g^x mod N` (minimal big-endian).
    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }
}

/// True when `SHA-512(username ":" password)` begins with a zero byte (the 1-in-256 case in
/// which esp_prov computes a different `x`).
pub fn identity_hash_starts_with_zero(username: &[u8], password: &Secret) -> bool {
    let mut h = Sha512::new();
    h.update(username);
    h.update(b":");
    h.update(password.expose());
    h.finalize().first().is_some_and(|b| *b == 0)
}

fn pad(bytes: &[u8]) -> Result<[u8; MODULUS_LEN]> {
    let mut out = [0u8; MODULUS_LEN];
    let start = MODULUS_LEN
        .checked_sub(bytes.len())
        .ok_or(Error::BadLength {
            field: "SRP public value",
            expected: MODULUS_LEN,
            got: bytes.len(),
        })?;
    out.get_mut(start..)
        .ok_or(Error::BadLength {
            field: "SRP public value",
            expected: MODULUS_LEN,
            got: bytes.len(),
        })?
        .copy_from_slice(bytes);
    Ok(out)
}

/// `u = H(PAD(A) || PAD(B))`; both sides abort on `u = 0`.
fn scrambler_is_zero(a_pub: &[u8], b_pub: &[u8]) -> Result<bool> {
    let mut h = Sha512::new();
    h.update(pad(a_pub)?);
    h.update(pad(b_pub)?);
    Ok(h.finalize().iter().all(|b| *b == 0))
}

/// What the device keeps between `Cmd0` and `Cmd1`.
pub(crate) struct DeviceProof {
    verifier: srp::ServerVerifier<Sha512>,
}

/// Device role for `Cmd0`: draws `b`, computes `B` (minimal form) and everything needed to
/// check the client's proof later.
pub(crate) fn device_start(
    credentials: &Sec2Credentials,
    username: &[u8],
    a_pub: &[u8],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Vec<u8>, DeviceProof)> {
    if a_pub.is_empty() || a_pub.len() > MODULUS_LEN {
        return Err(Error::BadLength {
            field: "client_pubkey",
            expected: MODULUS_LEN,
            got: a_pub.len(),
        });
    }
    let mut b = Zeroizing::new([0u8; EPHEMERAL_LEN]);
    rng.fill_bytes(b.as_mut());
    let server = Server::new();
    let v = credentials.verifier.expose();
    let b_pub = server.compute_public_ephemeral(b.as_ref(), v);
    if scrambler_is_zero(a_pub, &b_pub)? {
        return Err(Error::IllegalPublicValue("SRP scrambler u = 0"));
    }
    let verifier = server
        .process_reply(username, &credentials.salt, b.as_ref(), v, a_pub)
        .map_err(|_| Error::IllegalPublicValue("SRP A = 0 mod N"))?;
    Ok((b_pub, DeviceProof { verifier }))
}

impl DeviceProof {
    /// Checks the client's `M`; on success returns `(HAMK, K)`.
    pub(crate) fn verify(&self, client_proof: &[u8]) -> Result<(Vec<u8>, Secret)> {
        if client_proof.len() != PROOF_LEN {
            return Err(Error::BadLength {
                field: "client_proof",
                expected: PROOF_LEN,
                got: client_proof.len(),
            });
        }
        let key = self
            .verifier
            .verify_client(client_proof)
            .map_err(|_| Error::AuthenticationFailed)?;
        Ok((self.verifier.proof().to_vec(), Secret::new(key)))
    }
}

/// What the client keeps between `Cmd0` and `Resp0`.
pub(crate) struct ClientEphemeral {
    a: Zeroizing<[u8; EPHEMERAL_LEN]>,
    a_pub: Vec<u8>,
}

impl ClientEphemeral {
    /// Draws `a` until `A` is exactly 384 bytes long.
    pub(crate) fn draw(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Self> {
        let client = Client::new();
        for _ in 0..MAX_DRAWS {
            let mut a = Zeroizing::new([0u8; EPHEMERAL_LEN]);
            rng.fill_bytes(a.as_mut());
            let a_pub = client.compute_public_ephemeral(a.as_ref());
            if a_pub.len() == MODULUS_LEN {
                return Ok(ClientEphemeral { a, a_pub });
            }
        }
        Err(Error::InvalidConfig(
            "the random number generator keeps producing short SRP values",
        ))
    }

    /// `A`, exactly 384 bytes.
    pub(crate) fn public(&self) -> &[u8] {
        &self.a_pub
    }

    /// Computes the client proof `M` from the device's salt and `B`.
    pub(crate) fn respond(
        &self,
        username: &[u8],
        password: &Secret,
        salt: &[u8],
        b_pub: &[u8],
    ) -> Result<ClientProof> {
        if b_pub.is_empty() || b_pub.len() > MODULUS_LEN {
            return Err(Error::BadLength {
                field: "device_pubkey",
                expected: MODULUS_LEN,
                got: b_pub.len(),
            });
        }
        if salt.is_empty() {
            return Err(Error::BadLength {
                field: "device_salt",
                expected: DEFAULT_SALT_LEN,
                got: 0,
            });
        }
        if scrambler_is_zero(&self.a_pub, b_pub)? {
            return Err(Error::IllegalPublicValue("SRP scrambler u = 0"));
        }
        let verifier = Client::new()
            .process_reply(self.a.as_ref(), username, password.expose(), salt, b_pub)
            .map_err(|_| Error::IllegalPublicValue("SRP B = 0 mod N"))?;
        Ok(ClientProof { verifier })
    }
}

/// The client's proof and the expected device proof.
pub(crate) struct ClientProof {
    verifier: srp::ClientVerifier<Sha512>,
}

impl ClientProof {
    /// `M`, 64 bytes.
    pub(crate) fn proof(&self) -> &[u8] {
        self.verifier.proof()
    }

    /// Checks the device's `HAMK`; on success returns `K`.
    pub(crate) fn verify(self, device_proof: &[u8]) -> Result<Secret> {
        let key = self
            .verifier
            .verify_server(device_proof)
            .map_err(|_| Error::DeviceNotVerified)?;
        Ok(Secret::new(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_credentials() {
        assert!(Sec2Credentials::new(alloc::vec![], alloc::vec![1]).is_err());
        assert!(Sec2Credentials::new(alloc::vec![1], alloc::vec![]).is_err());
        assert!(Sec2Credentials::new(alloc::vec![1], alloc::vec![0; 3]).is_err());
        assert!(Sec2Credentials::new(alloc::vec![1], alloc::vec![1; 385]).is_err());
    }

    #[test]
    fn padding() {
        assert!(pad(&[1u8; 385]).is_err());
        let p = pad(&[7u8; 2]).unwrap();
        assert_eq!(&p[382..], &[7, 7]);
        assert!(p[..382].iter().all(|b| *b == 0));
    }
}
