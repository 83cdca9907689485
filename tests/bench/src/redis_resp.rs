//! A blocking RESP2 client with only what the suite needs: `XADD` for the change-feed producer,
//! `CONFIG RESETSTAT` and `INFO commandstats` to count the backplane's `PUBLISH`es.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use thiserror::Error;

/// Why a Redis command failed.
#[derive(Debug, Error)]
pub enum RedisError {
    /// The socket failed.
    #[error("redis i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Redis answered with an error.
    #[error("redis error: {0}")]
    Server(String),
    /// The reply was not RESP2.
    #[error("malformed redis reply: {0}")]
    Malformed(String),
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+...` or a bulk string.
    Text(String),
    /// `:n`.
    Integer(i64),
    /// `*n`.
    Array(Vec<Reply>),
    /// `$-1` or `*-1`.
    Nil,
}

/// One connection to Redis.
pub struct Redis {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Redis {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Result<Self, RedisError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Runs one command.
    pub fn command(&mut self, args: &[&str]) -> Result<Reply, RedisError> {
        self.writer.write_all(&encode(args))?;
        read_reply(&mut self.reader)
    }

    /// Calls of each command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    pub fn command_calls(&mut self, command: &str) -> Result<u64, RedisError> {
        match self.command(&["INFO", "commandstats"])? {
            Reply::Text(text) => Ok(calls_of(&text, command)),
            other => Err(RedisError::Malformed(format!("INFO answered {other:?}"))),
        }
    }
}

/// A command as a RESP array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one reply.
pub fn read_reply(reader: &mut impl BufRead) -> Result<Reply, RedisError> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(RedisError::Malformed("connection closed".into()));
    }
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at_checked(1).unwrap_or(("", ""));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| RedisError::Malformed(format!("bad length in {line:?}")))
    };
    match kind {
        "+" => Ok(Reply::Text(rest.to_owned())),
        "-" => Err(RedisError::Server(rest.to_owned())),
        ":" => Ok(Reply::Integer(number()?)),
        "$" => {
            let len = number()?;
            let Ok(len) = usize::try_from(len) else {
                return Ok(Reply::Nil);
            };
            let mut data = vec![0u8; len + 2];
            reader.read_exact(&mut data)?;
            data.truncate(len);
            String::from_utf8(data)
                .map(Reply::Text)
                .map_err(|_| RedisError::Malformed("bulk string not utf-8".into()))
        }
        "*" => {
            let len = number()?;
            let Ok(len) = usize::try_from(len) else {
                return Ok(Reply::Nil);
            };
            (0..len)
                .map(|_| read_reply(reader))
                .collect::<Result<_, _>>()
                .map(Reply::Array)
        }
        _ => Err(RedisError::Malformed(format!("unknown reply {line:?}"))),
    }
}

/// `calls=` of `cmdstat_<command>` in an `INFO commandstats` text (0 when absent).
pub fn calls_of(info: &str, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|fields| {
            fields
                .split(',')
                .find_map(|f| f.strip_prefix("calls="))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        assert_eq!(encode(&["GET", "k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }

    #[test]
    fn reads_replies() {
        let mut wire =
            &b"+OK\r\n:5\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n-ERR no\r\n?\r\n"[..];
        assert_eq!(read_reply(&mut wire).unwrap(), Reply::Text("OK".into()));
        assert_eq!(read_reply(&mut wire).unwrap(), Reply::Integer(5));
        assert_eq!(read_reply(&mut wire).unwrap(), Reply::Text("abc".into()));
        assert_eq!(read_reply(&mut wire).unwrap(), Reply::Nil);
        assert_eq!(
            read_reply(&mut wire).unwrap(),
            Reply::Array(vec![Reply::Integer(1), Reply::Text(String::new())])
        );
        assert!(matches!(read_reply(&mut wire), Err(RedisError::Server(_))));
        assert!(matches!(
            read_reply(&mut wire),
            Err(RedisError::Malformed(_))
        ));
        assert!(matches!(
            read_reply(&mut wire),
            Err(RedisError::Malformed(_))
        ));
    }

    #[test]
    fn commandstats_calls() {
        let info = "# Commandstats\r\ncmdstat_publish:calls=42,usec=10,usec_per_call=0.24\r\ncmdstat_get:calls=1\r\n";
        assert_eq!(calls_of(info, "publish"), 42);
        assert_eq!(calls_of(info, "spublish"), 0);
    }
}
