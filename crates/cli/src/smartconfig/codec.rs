//! `wifiprov smartconfig encode` and `decode`.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use smartconfig::net::encode_schedule;
use smartconfig::{Observation, ScType};

use super::{MessageArgs, decoded_json, read_input};
use crate::exit::{Exit, ExitContext};
use crate::output::{out, outln};

/// `wifiprov smartconfig encode` flags.
#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    message: MessageArgs,
    /// ESPTouch v1: the phone address to encode.
    #[arg(long, value_name = "IPV4", default_value = "192.168.1.2")]
    phone_ip: Ipv4Addr,
    /// ESPTouch v2: the port mark to encode (0..=3).
    #[arg(long, value_name = "0..3", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    port_mark: u8,
    /// Print one JSON object (lengths, pauses, count, duration) instead of one length per line.
    #[arg(long)]
    json: bool,
}

/// `wifiprov smartconfig decode` flags.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// File with one observed length per line, optionally preceded by source and destination
    /// columns ("LEN" or "SOURCE DESTINATION LEN"); `-` reads standard input. Blank lines and
    /// lines starting with # are skipped.
    #[arg(long, value_name = "FILE|-")]
    lengths: PathBuf,
    /// What to look for: esptouch, airkiss, esptouch-airkiss or esptouch-v2 [default: all].
    #[arg(long = "type", value_name = "TYPE", value_parser = super::parse_type)]
    sc_type: Option<ScType>,
    #[command(flatten)]
    key: super::ReceiverKey,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Include the password in the output.
    #[arg(long)]
    show_password: bool,
}

/// Runs `encode`.
pub fn encode(args: EncodeArgs) -> Result<Exit> {
    let request = args.message.request()?;
    let schedule = encode_schedule(&request, args.port_mark, args.phone_ip)?;
    if args.json {
        let lengths: Vec<u16> = schedule.iter().map(|t| t.length).collect();
        let gaps: Vec<u32> = schedule.iter().map(|t| t.gap_us).collect();
        let duration_us: u64 = gaps.iter().map(|g| u64::from(*g)).sum();
        let out = serde_json::json!({
            "protocol": request.protocol.name(),
            "datagrams": lengths.len(),
            "duration_us": duration_us,
            "lengths": lengths,
            "gaps_us": gaps,
        });
        outln!("{out}")?;
    } else {
        let mut text = String::with_capacity(schedule.len() * 5);
        for t in &schedule {
            text.push_str(&t.length.to_string());
            text.push('\n');
        }
        out!("{text}")?;
    }
    Ok(Exit::Ok)
}

/// Runs `decode`.
pub fn decode(args: DecodeArgs) -> Result<Exit> {
    let text = read_input(&args.lengths)?;
    let observations = parse_lengths(&text).exit(Exit::Config)?;
    let key = args.key.bytes()?;
    let types = match args.sc_type {
        Some(t) => vec![t],
        None => vec![ScType::EspTouchAirKiss, ScType::EspTouchV2],
    };
    let outcome = smartconfig::net::decode_observations(&observations, &types, key.as_ref());
    let read = observations.len();
    match outcome {
        Ok(received) => {
            let decoded = &received.decoded;
            if args.json {
                let mut out = decoded_json(&received, args.show_password);
                if let Some(obj) = out.as_object_mut() {
                    obj.insert("decoded".into(), true.into());
                    obj.insert("lengths_read".into(), read.into());
                }
                outln!("{out}")?;
            } else {
                let ssid = format!("{:?}", String::from_utf8_lossy(received.ssid()));
                outln!("protocol: {}", decoded.protocol.name())?;
                outln!("ssid: {ssid}")?;
                if args.show_password {
                    outln!(
                        "password: {:?}",
                        String::from_utf8_lossy(decoded.password.expose())
                    )?;
                } else {
                    outln!("password: ({} bytes, redacted)", decoded.password.len())?;
                }
                if let Some(b) = received.bssid {
                    outln!("bssid: {}", super::mac_text(b))?;
                }
                if !decoded.reserved.is_empty() {
                    outln!("reserved: {}", hex::encode(&decoded.reserved))?;
                }
                outln!("offset: {}", decoded.offset)?;
            }
            Ok(Exit::Ok)
        }
        Err(reason) => {
            if args.json {
                let out = serde_json::json!({
                    "decoded": false,
                    "reason": reason,
                    "lengths_read": read,
                });
                outln!("{out}")?;
            } else {
                eprintln!("nothing decoded: {reason}");
            }
            Ok(Exit::NothingReceived)
        }
    }
}

/// Reads "LEN" or "SOURCE DESTINATION LEN" lines (whitespace or commas between columns).
fn parse_lengths(text: &str) -> Result<Vec<Observation>> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|c| !c.is_empty())
            .collect();
        let (source, destination, length) = match cols.as_slice() {
            [len] => ([0u8; 6], [0xff; 6], *len),
            [src, dst, len] => (address(src), address(dst), *len),
            _ => bail!(
                "line {}: expected LEN or SOURCE DESTINATION LEN, got {line:?}",
                number + 1
            ),
        };
        let Ok(length) = length.parse::<u16>() else {
            bail!("line {}: {length:?} is not a length", number + 1);
        };
        let time_us = u64::try_from(out.len()).unwrap_or(u64::MAX);
        let mut observation = Observation::direct(time_us, source, length);
        observation.destination = destination;
        out.push(observation);
    }
    Ok(out)
}

/// A MAC address column as its bytes; any other text as six bytes of a hash of it.
fn address(text: &str) -> [u8; 6] {
    if let Ok(mac) = super::parse_mac(text) {
        return mac;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let [_, _, a, b, c, d, e, f] = hash.to_be_bytes();
    [a, b, c, d, e, f]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_lines() {
        let obs = parse_lengths(
            "# a comment\n515\n\naa:bb:cc:dd:ee:ff ff:ff:ff:ff:ff:ff 514\nphone,bcast,513\n",
        )
        .unwrap();
        assert_eq!(obs.len(), 3);
        assert_eq!(obs[0].length, 515);
        assert_eq!(obs[1].source, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        assert_eq!(obs[1].destination, [0xff; 6]);
        assert_eq!(obs[2].source, address("phone"));
        assert_ne!(address("phone"), address("phone2"));
        assert!(parse_lengths("1 2\n").is_err());
        assert!(parse_lengths("x\n").is_err());
        assert!(parse_lengths("70000\n").is_err());
    }
}
