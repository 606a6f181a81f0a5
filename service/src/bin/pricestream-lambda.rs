//! The Lambda pricer's entry point (see `service::lambda`). Configuration:
//! the TOML file named by `PRICESTREAM_CONFIG` (default `pricestream.toml`
//! next to the bootstrap), with `PRICESTREAM_<SECTION>_<KEY>` overrides.

use std::sync::Mutex;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use service::lambda::Handler;

fn handler() -> Result<Handler, service::error::Error> {
    let path = std::env::var("PRICESTREAM_CONFIG").unwrap_or_else(|_| "pricestream.toml".into());
    let config = service::Config::load(path.as_ref(), std::env::vars())
        .map_err(service::error::Error::user)?;
    service::serve::init_logs("json");
    let aws = service::aws::Aws::connect(&config)?;
    let model = service::pricing::load_model(&config)?;
    Ok(Handler::new(&config, aws, model))
}

fn main() -> Result<(), Error> {
    // Built before the async runtime and never dropped (it owns blocking
    // clients whose runtime must not be dropped inside an async context).
    let handler: &'static Mutex<Handler> = Box::leak(Box::new(Mutex::new(handler()?)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Event>| async move {
            tokio::task::spawn_blocking(move || -> Result<DynamoDbEventResponse, Error> {
                let mut h = handler.lock().map_err(|_| "the handler panicked earlier")?;
                Ok(h.handle(&event.payload))
            })
            .await?
        },
    )))
}
