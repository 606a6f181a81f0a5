//! moto's server on loopback: the one in `AWS_ENDPOINT_URL` when the test
//! command started one, else a private one on port 0, stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Option<Child>,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Moto {
    /// A ready server (panics with the install command when moto is missing: tests only).
    pub fn start() -> Moto {
        let moto = match std::env::var("AWS_ENDPOINT_URL") {
            Ok(url) => Moto { child: None, url },
            Err(_) => {
                let mut child = Command::new("moto_server")
                    .args(["-H", "127.0.0.1", "-p", "0"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("moto_server not found: run `python3 -m pip install 'moto[server]'` (scripts/test does)");
                let stderr = child.stderr.take().expect("piped");
                let mut lines = BufReader::new(stderr).lines();
                let url = loop {
                    let line = lines.next().expect("moto_server exited").expect("readable");
                    if let Some(at) = line.find("http://127.0.0.1:") {
                        break line[at..]
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                    }
                };
                std::thread::spawn(move || for _ in lines {});
                Moto {
                    child: Some(child),
                    url,
                }
            }
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !moto.http("GET", "/moto-api/", "").contains(" 200 ") {
            assert!(
                Instant::now() < deadline,
                "moto at {} did not become ready",
                moto.url
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// A small HTTP/1.1 request to the server ("" when it cannot be reached).
    pub fn http(&self, method: &str, path: &str, body: &str) -> String {
        let host = self.url.trim_start_matches("http://").trim_end_matches('/');
        let Ok(mut s) = TcpStream::connect(host) else {
            return String::new();
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut out = String::new();
        if s.write_all(request.as_bytes()).is_ok() {
            let _ = s.read_to_string(&mut out);
        }
        out
    }

    /// Sets the test credentials and region (call before any SDK code runs;
    /// tests only: it changes the process environment).
    pub fn test_environment(&self) {
        // SAFETY: test binaries call this first, before the SDK reads the environment.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
    }

    /// Wipes all state.
    pub fn reset(&self) {
        self.http("POST", "/moto-api/reset", "");
    }
}
