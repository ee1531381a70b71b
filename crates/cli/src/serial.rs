//! Opening a serial device or pseudo-terminal for the console transport.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sys::termios::{BaudRate, SetArg, cfmakeraw, cfsetspeed, tcgetattr, tcsetattr};
use tokio::net::unix::pipe;

/// Opens `path` read/write without making it the controlling terminal, puts a terminal into
/// raw mode (no line editing, echo or CR/LF translation, so the bytes are exactly ESP-IDF's)
/// and sets `baud` when given. Must be called within the Tokio runtime.
pub fn open(path: &Path, baud: Option<u32>) -> Result<(pipe::Receiver, pipe::Sender)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match tcgetattr(&file) {
        Ok(mut termios) => {
            cfmakeraw(&mut termios);
            if let Some(baud) = baud {
                cfsetspeed(&mut termios, baud_rate(baud)?)
                    .with_context(|| format!("cannot set {baud} baud"))?;
            }
            tcsetattr(&file, SetArg::TCSANOW, &termios)
                .with_context(|| format!("cannot configure {}", path.display()))?;
        }
        Err(_) if baud.is_some() => {
            bail!("{} is not a terminal; --baud cannot apply", path.display())
        }
        Err(_) => {}
    }
    split(file).with_context(|| format!("cannot use {}", path.display()))
}

fn split(file: File) -> std::io::Result<(pipe::Receiver, pipe::Sender)> {
    let writer = pipe::Sender::from_file_unchecked(file.try_clone()?)?;
    let reader = pipe::Receiver::from_file_unchecked(file)?;
    Ok((reader, writer))
}

fn baud_rate(baud: u32) -> Result<BaudRate> {
    Ok(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115_200 => BaudRate::B115200,
        230_400 => BaudRate::B230400,
        460_800 => BaudRate::B460800,
        921_600 => BaudRate::B921600,
        other => bail!(
            "unsupported --baud {other} (use 9600, 19200, 38400, 57600, 115200, 230400, \
             460800 or 921600)"
        ),
    })
}
