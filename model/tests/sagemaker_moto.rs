//! The SageMaker backend end to end over HTTP, against moto's server on
//! loopback (canned endpoint answers). Uses the server in AWS_ENDPOINT_URL
//! when the test command started one, else starts its own on port 0.
#![cfg(feature = "sagemaker")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use model::{ContentType, SageMakerConfig, SageMakerModel};
use pipeline::{FeatureRecord, PriceModel};

/// A moto server this test started; killed on drop.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Option<Moto>, String) {
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
        return (None, url);
    }
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
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Some(Moto(child)), url)
}

/// A tiny HTTP/1.1 request to moto's control API.
fn http(url: &str, method: &str, path: &str, body: &str) -> String {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(url.trim_start_matches("http://")).is_ok()
            && http(url, "GET", "/moto-api/", "").contains("200")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto at {url} did not become ready");
}

fn records(n: usize) -> Vec<FeatureRecord> {
    pipeline::fixtures::records(n, 100_000)
}

#[test]
fn invoke_endpoint_through_moto_in_csv_and_json() {
    let (_moto, url) = start_moto();
    wait_ready(&url);
    // SAFETY: the only test in this binary; set before any SDK code reads the environment.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &url);
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    http(&url, "POST", "/moto-api/reset", "");
    let results = r#"{"results":[
        {"Body":"1.05\n0.95\n1.2\n","ContentType":"text/csv","InvokedProductionVariant":"AllTraffic"},
        {"Body":"{\"predictions\":[0.9,1.1]}","ContentType":"application/json","InvokedProductionVariant":"AllTraffic"}]}"#;
    let answer = http(
        &url,
        "POST",
        "/moto-api/static/sagemaker/endpoint-results",
        results,
    );
    assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");

    let mut config = SageMakerConfig::new("pricing-prod");
    config.max_attempts = 1;
    let mut csv = SageMakerModel::from_env(config.clone()).unwrap();
    assert_eq!(csv.version(), "sagemaker:pricing-prod");
    assert_eq!(csv.predict(&records(3)).unwrap(), vec![1.05, 0.95, 1.2]);

    config.content_type = ContentType::Json;
    let mut json = SageMakerModel::from_env(config).unwrap();
    assert_eq!(json.predict(&records(2)).unwrap(), vec![0.9, 1.1]);
}
