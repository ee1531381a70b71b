//! `PeerVersion::parse` never panics, and for JSON replies the parse → `VersionInfo::to_json` →
//! parse round trip keeps what a client decides on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocomm::{PeerVersion, VersionInfo};

fuzz_target!(|data: &[u8]| {
    let peer = PeerVersion::parse(data);
    if !peer.is_json {
        return;
    }
    let info = VersionInfo {
        app_info: peer.app_info.clone(),
        version: peer.version.clone().unwrap_or_default(),
        sec_ver: peer.sec_ver.unwrap_or(0),
        sec_patch_ver: peer.sec_patch_ver,
        capabilities: peer.capabilities.clone(),
    };
    let json = info.to_json();
    let again = PeerVersion::parse(json.as_bytes());
    assert!(
        again.is_json,
        "to_json produced something that is not JSON: {json:?}"
    );
    assert_eq!(again.sec_ver, Some(info.sec_ver));
    assert_eq!(again.sec_patch_ver, info.sec_patch_ver);
    assert_eq!(again.capabilities, info.capabilities);
    assert_eq!(again.version.as_deref(), Some(info.version.as_str()));
    assert_eq!(again.app_info, info.app_info);
});
