//! Turns a complete, CRC-checked set of groups into a [`Decoded`] message.

use alloc::vec::Vec;

use zeroize::Zeroize;

use super::crypto::{self, AesKey};
use super::wire::{
    self, Header, IV_FIELD_LEN, SECURITY_AES_RANDOM_IV, SECURITY_PLAIN, SegmentKind,
};
use crate::{Decoded, Protocol, Secret};

/// Largest segment including padding: 144 bytes of ciphertext padded to 145.
const SEGMENT_CAP: usize = 150;

/// Builds the message from the header and the planes of body groups `0..N−1` (already
/// CRC-checked against their group type). `None` if anything is inconsistent: missing group,
/// decryption or PKCS#7 failure, lengths or high-byte flags that do not match the header.
pub(crate) fn assemble(
    header: &Header,
    groups: &[[u8; 8]],
    key: Option<&AesKey>,
    offset: u16,
) -> Option<Decoded> {
    let layout = header.layout();
    let mut next = groups.iter();
    let mut ssid = Vec::new();
    let mut password = Vec::new();
    let mut reserved = Vec::new();
    let mut ciphertext = Vec::new();
    let mut iv_field = [0u8; IV_FIELD_LEN];
    let mut buf = [0u8; SEGMENT_CAP];
    let mut ok = true;
    for segment in layout.segments() {
        let width = segment.width();
        let planes_used = if segment.eight_bit { 8 } else { 7 };
        let mut filled = 0;
        for _ in 0..segment.groups() {
            let Some(planes) = next.next() else {
                ok = false;
                break;
            };
            let mut bytes = wire::from_planes(planes, planes_used);
            if let Some(dst) = buf.get_mut(filled..filled + width) {
                dst.copy_from_slice(bytes.get(..width).unwrap_or_default());
            } else {
                ok = false;
            }
            bytes.zeroize();
            filled += width;
        }
        let Some(data) = buf.get(..segment.len) else {
            ok = false;
            break;
        };
        match segment.kind {
            SegmentKind::Ciphertext => ciphertext.extend_from_slice(data),
            SegmentKind::Iv => {
                if data.len() == IV_FIELD_LEN {
                    iv_field.copy_from_slice(data);
                } else {
                    ok = false;
                }
            }
            SegmentKind::Credentials => {
                let split = usize::from(header.password.len).min(data.len());
                let (p, r) = data.split_at(split);
                password.extend_from_slice(p);
                reserved.extend_from_slice(r);
            }
            SegmentKind::Password => password.extend_from_slice(data),
            SegmentKind::Reserved => reserved.extend_from_slice(data),
            SegmentKind::Ssid => ssid.extend_from_slice(data),
        }
    }
    buf.zeroize();

    if ok && header.security != SECURITY_PLAIN {
        ok = decrypt_into(
            header,
            key,
            &ciphertext,
            &iv_field,
            &mut password,
            &mut reserved,
        );
    }
    ciphertext.zeroize();
    iv_field.zeroize();

    let consistent = ok
        && header.ssid.matches(&ssid)
        && header.password.matches(&password)
        && header.reserved.matches(&reserved);
    if !consistent {
        password.zeroize();
        reserved.zeroize();
        return None;
    }
    Some(Decoded {
        protocol: Protocol::EspTouchV2,
        ssid: (!ssid.is_empty()).then_some(ssid),
        ssid_crc: None,
        password: Secret::new(password),
        bssid: None,
        bssid_crc: Some(header.bssid_crc),
        token: header.port_mark,
        phone_ip: None,
        ipv6: !header.ipv4,
        reserved,
        offset,
    })
}

/// Decrypts the ciphertext segment and splits the plaintext into password and reserved data.
fn decrypt_into(
    header: &Header,
    key: Option<&AesKey>,
    ciphertext: &[u8],
    iv_field: &[u8; IV_FIELD_LEN],
    password: &mut Vec<u8>,
    reserved: &mut Vec<u8>,
) -> bool {
    let Some(key) = key else {
        return false;
    };
    let mut iv = [0u8; 16];
    if header.security == SECURITY_AES_RANDOM_IV {
        iv.iter_mut().zip(iv_field).for_each(|(d, s)| *d = *s);
    }
    let mut plain = [0u8; SEGMENT_CAP];
    let result = plain
        .get_mut(..ciphertext.len())
        .and_then(|out| crypto::decrypt(key, &iv, ciphertext, out));
    let ok = match (result, plain.get(..header.secret_len())) {
        (Some(len), Some(secret)) if len == header.secret_len() => {
            match secret.split_at_checked(usize::from(header.password.len)) {
                Some((p, r)) => {
                    password.extend_from_slice(p);
                    reserved.extend_from_slice(r);
                    true
                }
                None => false,
            }
        }
        _ => false,
    };
    plain.zeroize();
    iv.zeroize();
    ok
}
