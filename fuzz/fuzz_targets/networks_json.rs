//! The networks.json reader never panics on any text; a document it accepts is written out
//! as a document it accepts again, with the same networks in the same order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wifi_manager::networks::NetworksFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = NetworksFile::from_str(text, "networks.json") else {
        return;
    };
    let written = file.to_json_string();
    let again = NetworksFile::from_str(&written, "networks.json")
        .unwrap_or_else(|e| panic!("a written document is refused: {e}"));
    let ssids = |f: &NetworksFile| -> Vec<Vec<u8>> {
        f.known().iter().map(|k| k.ssid.as_bytes().to_vec()).collect()
    };
    assert_eq!(ssids(&file), ssids(&again));
});
