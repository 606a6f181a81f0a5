//! The service's tests against moto: a fresh emulator state, the documented
//! example configuration pointed at it, and clients.

use testkit::moto::Moto;

/// Resets `moto`, sets the test environment, loads
/// `deploy/pricestream.example.toml` with `aws.endpoint_url` = this server
/// (plus `env` overrides, as `PRICESTREAM_*` variables) and connects.
pub fn connect(moto: &Moto, env: &[(&str, &str)]) -> (service::Config, service::aws::Aws) {
    moto.reset();
    moto.test_environment();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/pricestream.example.toml");
    let mut vars = vec![("PRICESTREAM_AWS_ENDPOINT_URL".to_string(), moto.url.clone())];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = service::Config::load(&path, vars).unwrap_or_else(|e| panic!("{e}"));
    let aws = service::aws::Aws::connect(&config).unwrap_or_else(|e| panic!("{e}"));
    (config, aws)
}
