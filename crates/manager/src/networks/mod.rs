//! The `networks.json` file, schema 2, in the layout micropython-wifimanager defines: the
//! ordered list of networks the device may join and the settings of its own access point.
//!
//! [`NetworksFile::load`] reads and checks a file and keeps the JSON document as it was;
//! [`NetworksFile::add_or_promote`], [`remove`](NetworksFile::remove) and
//! [`reorder`](NetworksFile::reorder) edit it; [`NetworksFile::save`] replaces the file
//! atomically. Keys this crate does not know — at the top level, in known-network entries, in
//! `access_point` and in `access_point.config` — are kept, in their order, through every edit
//! and rewrite.
//!
//! # Format
//!
//! ```json
//! {
//!   "schema": 2,
//!   "known_networks": [
//!     { "ssid": "Workshop", "password": "sawdust-and-glue", "enables_webrepl": false },
//!     { "ssid": "Cafe Guest", "password": "", "enables_webrepl": false }
//!   ],
//!   "access_point": {
//!     "config": {
//!       "essid": "sensor-7-setup",
//!       "channel": 6,
//!       "hidden": false,
//!       "password": "setup-me-please",
//!       "authmode": 3
//!     },
//!     "enables_webrepl": true,
//!     "start_policy": "fallback"
//!   }
//! }
//! ```
//!
//! | key | required? | when absent | rule |
//! |-----|-----------|-------------|------|
//! | `schema` | yes | — | the integer `2` |
//! | `known_networks` | yes | — | an array of objects (may be empty), most preferred first |
//! | `known_networks[i].ssid` | yes¹ | — | a string of 1 to 32 bytes (UTF-8); no two entries alike |
//! | `known_networks[i].ssid_hex` | yes¹ | — | instead of `ssid`, for a name that is not UTF-8: its 1 to 32 bytes as hex digits (`"4e6574ff"`); written this way only for such names |
//! | `known_networks[i].password` | no | `""` (open) | a string or `null` (open): empty, 5 or 13 bytes (WEP), 8 to 63 bytes (WPA passphrase) or 64 hex digits (WPA key) |
//! | `known_networks[i].enables_webrepl` | no | `false` | a boolean |
//! | `access_point` | yes | — | an object |
//! | `access_point.config` | yes | — | an object: MicroPython's access point settings |
//! | `config.essid` (alias `ssid`) | yes | — | a string of 1 to 32 bytes |
//! | `config.channel` | no | driver's choice | an integer from 1 to 14 |
//! | `config.hidden` | no | `false` | a boolean |
//! | `config.password` (alias `key`) | no | open | a string or `null`; `""`/`null` is open, otherwise 8 to 63 bytes or 64 hex digits |
//! | other keys of `config` | no | — | anything; kept in [`AccessPointConfig::extra`] |
//! | `access_point.enables_webrepl` | no | `false` | a boolean |
//! | `access_point.start_policy` | no | `"never"` | `"always"`, `"fallback"` or `"never"` |
//!
//! ¹ Exactly one of `ssid` and `ssid_hex`. SSIDs are bytes and need not be UTF-8; JSON text
//! cannot hold such a name, so it is kept in `ssid_hex` instead of being converted (which would
//! name another network).
//!
//! Any other key anywhere is ignored when reading and kept when writing. (`ssid`/`key` are
//! the names current MicroPython gives `essid`/`password`; when both names of a pair are
//! present they must agree.)
//!
//! ## Where this differs from micropython-wifimanager
//!
//! The defaults follow what micropython-wifimanager's code does, not its README: it reads
//! `start_policy` with a default of `"never"`. Where the original is strict only by crashing
//! (`enables_webrepl` and `password` are looked up unconditionally when a network is joined
//! or the access point started), this reader is lenient and uses the defaults above. It is
//! stricter elsewhere, so that mistakes are reported when the file is read rather than when
//! the radio refuses them:
//!
//! * A missing or different `schema` is refused (the original only logs a warning). A file
//!   without `schema` is in the schema 1 layout, whose `access_point` has no `config` object.
//! * A missing `known_networks` or `access_point` is reported by name (the original drops the
//!   whole file and runs with no networks and no access point).
//! * An unknown `start_policy` is refused (the original treats it as `"fallback"`, so a typo
//!   silently changed the behaviour).
//! * SSID and password lengths, channels and duplicate SSIDs are checked (the original
//!   checks nothing; a duplicate would make editing by SSID ambiguous).
//! * A key given twice in one object (at any level) is refused, naming the key and its line
//!   (the original's JSON reader keeps the last one without a word).
//! * A leading UTF-8 byte-order mark (as some Windows editors write) is accepted with a
//!   warning naming the file; the next save writes the file without it.
//!
//! ## What is read
//!
//! The path may be a symbolic link (followed), but what it leads to must be a regular file
//! of at most 1 MiB: a FIFO, device, socket or directory is refused without being opened for
//! a blocking read (so it never hangs start-up), and never replaced by a save.
//!
//! # Errors
//!
//! Every message names the file; document errors also name the JSON path (empty paths are
//! shown as `top level`). The messages, with `F` for the file:
//!
//! | case | message |
//! |------|---------|
//! | unreadable | `cannot read F: No such file or directory (os error 2)` |
//! | not a file | `cannot read F: F is a FIFO, not a regular file; refusing to use it` |
//! | too large | `cannot read F: F is larger than 1048576 bytes; refusing to read it` |
//! | repeated key | `F: not valid JSON (line 4, column 12): duplicate key "ssid"` |
//! | not JSON | ``F: not valid JSON (line 3, column 5): expected `,` or `}` `` |
//! | not an object | `F: top level: expected an object, found an array` |
//! | no schema | `F: schema: missing; this version reads schema 2 (a file without "schema" is in the older schema 1 layout)` |
//! | other schema | `F: schema: schema 1 is not supported; this version reads schema 2` |
//! | missing key | `F: known_networks[2].ssid: required key is missing` |
//! | wrong type | `F: access_point.config.hidden: expected a boolean, found a string` |
//! | SSID length | `F: known_networks[0].ssid: SSID must be 1 to 32 bytes long, found 0 bytes` |
//! | password | `F: known_networks[1].password: password of 7 bytes is not valid: use an empty password (open network), 5 or 13 characters (WEP), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)` |
//! | AP password | `F: access_point.config.password: password of 5 bytes is not valid: use none (open access point), 8 to 63 characters (WPA passphrase) or 64 hex digits (WPA key)` |
//! | channel | `F: access_point.config.channel: channel must be an integer from 1 to 14, found 15` |
//! | start policy | `F: access_point.start_policy: unknown start policy "sometimes"; expected "always", "fallback" or "never"` |
//! | duplicate | `F: known_networks[2].ssid: "Home" is already listed at known_networks[0]` |
//! | alias conflict | `F: access_point.config.ssid: conflicts with access_point.config.essid; give only one of the two` |
//! | edit argument | `invalid SSID: SSID must be 1 to 32 bytes long, found 33 bytes`, `invalid password: not valid UTF-8 (networks.json stores passwords as text)` |
//! | reorder | `cannot reorder known networks: "Cafe" is not a known network` (or `… is listed more than once`, `… is missing; list every known network exactly once`) |
//! | save | `cannot save F: fsync the temporary file: …` (the step, then the OS error) |
//!
//! # Writing
//!
//! * **Atomic, durable replace.** [`NetworksFile::save`] writes `.networks.json.<random>.tmp`
//!   in the file's directory (mode 0600 from creation), fsyncs it, renames it over the file
//!   and fsyncs the directory: after a crash the file is the old version or the new one. A
//!   temporary file left by a crash is removed by a later save once it is a minute old. When
//!   the path is a symbolic link, the file it points to is replaced.
//! * **Mode 0600.** The file holds passwords; it is written with mode 0600 whatever its mode
//!   was (reading a file that others can read logs a warning).
//! * **Layout.** Keys keep their order; entries keep theirs (unless reordered). The output is
//!   indented like the file that was read (a tab, or as many spaces as its first indented
//!   line), stays on one line if the file was on one line, and keeps or omits the final
//!   newline. New documents use two spaces, like micropython-wifimanager's schema 2 example
//!   files. Whitespace inside lines, `\r\n` line ends, `\u` escapes of non-ASCII characters
//!   and the spelling of numbers (`1e3` becomes `1000.0`) are normalised.
//! * **One writer.** A save replaces whatever is on disk with this document; changes made to
//!   the file since it was loaded are lost. The manager daemon is the file's one writer.
//! * **Secrets.** Passwords live in [`protocomm::Secret`]s in the typed view; the document,
//!   the file's text and encoded output are wiped when dropped (best effort: the JSON parser
//!   may keep short-lived copies of escaped strings). `Debug` output never shows passwords.
//!
//! All methods that touch the file do blocking I/O; call them from async code through
//! `spawn_blocking`.

mod error;
mod file;
mod parse;
mod storage;
mod strict;
mod types;

use std::ops::RangeInclusive;

pub use error::{NetworksError, Problem, ReorderProblem};
pub use file::NetworksFile;
pub use types::{AccessPointConfig, AddOutcome, KnownNetwork, Networks, StartPolicy};

/// How a known network's name appears in JSON (the file, the control API, events): `"ssid"`
/// as text when it is UTF-8, otherwise `"ssid_hex"` with its bytes in hex. Returns the key
/// and the value.
pub fn ssid_field(ssid: &wifiprov_types::Ssid) -> (&'static str, serde_json::Value) {
    parse::ssid_entry(ssid)
}

/// The schema this version reads and writes.
pub const SCHEMA: u32 = 2;
/// The longest SSID, in bytes.
pub const MAX_SSID_LEN: usize = 32;
/// The Wi-Fi channels `access_point.config.channel` may name.
pub const CHANNELS: RangeInclusive<u8> = 1..=14;
