//! A small SMTP server for the mail tests: it speaks enough SMTP (EHLO,
//! HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on a free local port, keeps
//! every message it accepted, and can be "down" (each connection is
//! greeted with `421` and closed, as a mail server that is not taking mail
//! answers) and "up" again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message, dot-unstuffed, as sent after DATA.
    pub raw: Vec<u8>,
}

impl Received {
    /// The parsed message.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parsable message")
    }

    /// `Message-ID`, without angle brackets.
    pub fn message_id(&self) -> String {
        self.parsed().message_id().expect("a Message-ID").to_owned()
    }

    /// The decoded subject.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The decoded plain-text body.
    pub fn body(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|b| b.into_owned())
            .unwrap_or_default()
    }

    /// A header's raw value, trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed().header_raw(name).map(|v| v.trim().to_owned())
    }

    /// The one-click unsubscribe URL (`List-Unsubscribe`, brackets removed).
    pub fn unsubscribe_url(&self) -> String {
        let value = self.header("List-Unsubscribe").expect("List-Unsubscribe");
        value
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    }
}

#[derive(Default)]
struct Shared {
    down: bool,
    /// Messages to keep but answer `451` for, as a server that stored a
    /// mail and lost the connection before its reply reached the sender.
    lose_replies: usize,
    messages: Vec<Received>,
    refused: usize,
}

/// The sink; it stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// A sink taking mail, on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let accepting = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, Arc::clone(&accepting)));
            }
        });
        Self { addr, shared, task }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Refuse every connection (421) from now on.
    pub fn down(&self) {
        self.shared.lock().unwrap().down = true;
    }

    /// Take mail again.
    pub fn up(&self) {
        self.shared.lock().unwrap().down = false;
    }

    /// Keep the next `n` messages but answer each with `451` after its
    /// data: the sender cannot know they arrived and sends them again.
    pub fn lose_replies(&self, n: usize) {
        self.shared.lock().unwrap().lose_replies = n;
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().unwrap().messages.clone()
    }

    /// The messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    /// Connections refused while down.
    pub fn refused(&self) -> usize {
        self.shared.lock().unwrap().refused
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(socket: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let down = {
        let mut s = shared.lock().unwrap();
        if s.down {
            s.refused += 1;
        }
        s.down
    };
    if down {
        let _ = write
            .write_all(b"421 sink.test Service not available\r\n")
            .await;
        return;
    }
    if write.write_all(b"220 sink.test ESMTP\r\n").await.is_err() {
        return;
    }
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM:") {
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO:") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or("")
                .to_owned();
            to.push(address);
            b"250 OK\r\n"
        } else if command.starts_with("RSET") {
            to.clear();
            b"250 OK\r\n"
        } else if command == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut raw = Vec::new();
            loop {
                let mut data_line = String::new();
                match lines.read_line(&mut data_line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if data_line == ".\r\n" || data_line == ".\n" {
                    break;
                }
                let unstuffed = data_line.strip_prefix('.').unwrap_or(&data_line);
                raw.extend_from_slice(unstuffed.as_bytes());
            }
            let mut s = shared.lock().unwrap();
            s.messages.push(Received {
                to: std::mem::take(&mut to),
                raw,
            });
            if s.lose_replies > 0 {
                s.lose_replies -= 1;
                b"451 4.3.0 reply lost\r\n"
            } else {
                b"250 OK queued\r\n"
            }
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"500 unknown command\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
