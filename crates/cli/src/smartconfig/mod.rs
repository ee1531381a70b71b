//! `wifiprov smartconfig`: ESPTouch v1, ESPTouch v2 and AirKiss.
//!
//! * `send`: the phone's part: broadcast the length code and wait for the device's reply;
//! * `listen`: the device's part: decode from a monitor interface, a capture file or a UDP
//!   socket, join the network, acknowledge and store the credentials;
//! * `encode` / `decode`: the length code of one cycle, and decoding a list of lengths.
//!
//! Output rules: progress goes to stderr; stdout carries only data (the `--json` object, the
//! lengths of `encode`). Passwords are printed only by `decode`/`listen --json
//! --show-passphrase`.

mod codec;
pub(crate) mod listen;
mod send;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use smartconfig::receiver::Received;
use smartconfig::{Protocol, Secret};

use crate::route_flags::{key_bytes, parse_type};

use crate::exit::{self, Exit, ExitContext};

/// The exit codes of `wifiprov smartconfig` and its subcommands.
pub fn help() -> String {
    let codes = exit::help(&[
        Exit::WifiFailed,
        Exit::Timeout,
        Exit::NothingReceived,
        Exit::Config,
        Exit::System,
        Exit::Interrupted,
        Exit::OutputClosed,
    ]);
    let which = exit::wrap(
        "send: 7 when no device replied in time. listen: 5 when credentials arrived but \
         joining failed, 7 when nothing arrived before --timeout, 8 when the capture ended \
         first, 130 when stopped by a signal while listening. decode: 8 when the lengths hold \
         no message.",
        "",
    );
    format!("{codes}\n{which}\n\n{EXAMPLES}")
}

/// Examples at the end of the `smartconfig` help texts (run by tests/readme_examples.rs):
/// a receiver on loopback (the datagrams' lengths arrive by UDP) and a sender.
const EXAMPLES: &str = "\
Examples:
  A device and a phone on loopback (ESPTouch v2; the listener must be told the type):
  $ wifiprov smartconfig listen --wifi sim --type esptouch-v2 --udp 127.0.0.1:7010 --ack-port 18300 --ack-broadcast 127.0.0.1 --no-store &
  $ wifiprov smartconfig send --protocol esptouch-v2 --ssid HomeNet --passphrase correct-horse --target 127.0.0.1:7010 --ack-listen 127.0.0.1:18300
  The lengths of one cycle of the code:
  $ wifiprov smartconfig encode --protocol airkiss --ssid HomeNet --passphrase correct-horse";

/// `wifiprov smartconfig` flags.
#[derive(Args, Debug)]
pub struct SmartconfigArgs {
    #[command(subcommand)]
    command: ScCommand,
}

#[derive(Subcommand, Debug)]
enum ScCommand {
    /// Phone role: broadcast the credentials as a length code until a device acknowledges.
    #[command(after_help = help())]
    Send(send::SendArgs),
    /// Device role: receive credentials, join the network, acknowledge, store them.
    #[command(after_help = help())]
    Listen(Box<listen::ListenArgs>),
    /// Print the UDP payload lengths of one cycle of the length code.
    #[command(after_help = help())]
    Encode(codec::EncodeArgs),
    /// Decode observed lengths, one per line ("LEN" or "SOURCE DESTINATION LEN").
    #[command(after_help = help())]
    Decode(codec::DecodeArgs),
}

/// Runs `wifiprov smartconfig …`.
pub async fn run(args: SmartconfigArgs) -> Result<Exit> {
    match args.command {
        ScCommand::Send(args) => send::run(args).await,
        ScCommand::Listen(args) => listen::run(*args).await,
        ScCommand::Encode(args) => codec::encode(args),
        ScCommand::Decode(args) => codec::decode(args),
    }
}

/// The credentials of `send` and `encode`.
#[derive(Args, Debug, Clone)]
struct MessageArgs {
    /// Protocol: esptouch (v1), esptouch-v2 or airkiss.
    #[arg(long, value_name = "PROTOCOL", value_parser = parse_protocol)]
    protocol: Protocol,
    /// Network name (sent as its UTF-8 bytes).
    #[arg(long)]
    ssid: String,
    /// The network's passphrase [default: empty, an open network].
    #[arg(
        long = "passphrase",
        alias = "password",
        value_name = "PASSPHRASE",
        env = "WIFIPROV_PASSPHRASE",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true
    )]
    password: String,
    /// The access point's BSSID (ESPTouch v1 sends it, v2 its CRC) [default: 00:00:00:00:00:00].
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    bssid: Option<[u8; 6]>,
    /// ESPTouch v2 reserved (custom) data, hex, up to 64 bytes.
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    reserved_data: Option<HexBytes>,
    /// AES key: ESPTouch v2 16 bytes, AirKiss up to 16 (zero-padded); text.
    #[arg(
        long,
        value_name = "KEY",
        env = "WIFIPROV_AES_KEY",
        hide_env_values = true
    )]
    aes_key: Option<String>,
    /// ESPTouch v2 with --aes-key: send a random IV (security 2, SmartConfig V3.0.2 and later)
    /// instead of the zero IV every v2 device understands.
    #[arg(long, requires = "aes_key")]
    random_iv: bool,
}

impl MessageArgs {
    fn request(&self) -> Result<smartconfig::net::SendRequest> {
        if self.reserved_data.is_some() && self.protocol != Protocol::EspTouchV2 {
            return Err(Exit::Usage.error("--reserved-data is only carried by esptouch-v2"));
        }
        if self.aes_key.is_some() && self.protocol == Protocol::EspTouch {
            return Err(Exit::Usage.error("--aes-key applies to esptouch-v2 and airkiss only"));
        }
        let mut request = smartconfig::net::SendRequest::new(
            self.protocol,
            self.ssid.as_bytes(),
            self.password.as_bytes(),
        );
        request.bssid = self.bssid;
        request.reserved = self
            .reserved_data
            .as_ref()
            .map(|h| h.0.clone())
            .unwrap_or_default();
        request.aes_key = self.aes_key.as_deref().map(|k| Secret::new(k.as_bytes()));
        request.v2_random_iv = self.random_iv;
        Ok(request)
    }
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "esptouch" | "esptouch-v1" | "v1" => Ok(Protocol::EspTouch),
        "esptouch-v2" | "v2" => Ok(Protocol::EspTouchV2),
        "airkiss" => Ok(Protocol::AirKiss),
        _ => Err("expected esptouch, esptouch-v2 or airkiss".into()),
    }
}

fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    text.parse::<wifiprov_wifi::Bssid>()
        .map(|b| b.0)
        .map_err(|_| "expected six hex bytes like 24:0a:c4:12:34:56".into())
}

/// Bytes given in hex on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HexBytes(Vec<u8>);

fn parse_hex(text: &str) -> Result<HexBytes, String> {
    hex::decode(text.trim())
        .map(HexBytes)
        .map_err(|e| format!("not hex: {e}"))
}

fn mac_text(mac: [u8; 6]) -> String {
    wifiprov_wifi::Bssid(mac).to_string()
}

/// `--aes-key` of the receiving commands (`listen`, `decode`).
#[derive(Args, Debug)]
struct ReceiverKey {
    /// AES key for encrypted ESPTouch v2 / AirKiss messages (text).
    #[arg(
        long,
        value_name = "KEY",
        env = "WIFIPROV_AES_KEY",
        hide_env_values = true
    )]
    aes_key: Option<String>,
}

impl ReceiverKey {
    /// The key as bytes, if given.
    fn bytes(&self) -> Result<Option<Secret>> {
        key_bytes(self.aes_key.as_deref())
    }
}

/// `path` as a buffered stream, or standard input for `-`. Not read whole: the caller
/// bounds what it takes (a pipe or a FIFO is fine input).
fn open_input(path: &std::path::Path) -> Result<Box<dyn std::io::BufRead>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot read {}", path.display()))
            .exit(Exit::Config)?;
        Ok(Box::new(std::io::BufReader::new(file)))
    }
}

/// The fields of a received message as JSON; the password only when `show_password`.
fn decoded_json(received: &Received, show_password: bool) -> serde_json::Value {
    let decoded = &received.decoded;
    let password = if show_password {
        serde_json::Value::String(String::from_utf8_lossy(decoded.password.expose()).into_owned())
    } else {
        serde_json::Value::String("(redacted)".into())
    };
    serde_json::json!({
        "protocol": decoded.protocol.name(),
        "ssid": String::from_utf8_lossy(received.ssid()),
        "ssid_hex": hex::encode(received.ssid()),
        "ssid_from_scan": received.ssid_from_scan,
        "password": password,
        "password_len": decoded.password.len(),
        "bssid": received.bssid.map(mac_text),
        "token": decoded.token,
        "phone_ip": decoded.phone_ip.map(|ip| ip.to_string()),
        "reserved_hex": hex::encode(&decoded.reserved),
        "offset": decoded.offset,
    })
}

#[cfg(test)]
mod tests {
    use smartconfig::ScType;

    use super::*;

    #[test]
    fn protocol_and_type_names() {
        assert_eq!(parse_protocol("ESPTouch"), Ok(Protocol::EspTouch));
        assert_eq!(parse_protocol("esptouch-v2"), Ok(Protocol::EspTouchV2));
        assert_eq!(parse_protocol("airkiss"), Ok(Protocol::AirKiss));
        assert!(parse_protocol("esptouch-airkiss").is_err());
        assert_eq!(parse_type("esptouch-airkiss"), Ok(ScType::EspTouchAirKiss));
        assert_eq!(parse_type("TYPE_ESPTOUCH_V2"), Ok(ScType::EspTouchV2));
        assert!(parse_type("x").is_err());
    }

    #[test]
    fn values() {
        assert_eq!(
            parse_mac("24:0a:c4:12:34:56"),
            Ok([0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56])
        );
        assert!(parse_mac("24:0a:c4").is_err());
        assert_eq!(parse_hex("00ff"), Ok(HexBytes(vec![0, 255])));
        assert!(parse_hex("0").is_err());
        assert!(key_bytes(Some("0123456789abcdefg")).is_err());
        assert_eq!(key_bytes(Some("k")).unwrap().unwrap().expose(), b"k");
    }
}
