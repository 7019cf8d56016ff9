//! `campaigns openapi`: print the API's OpenAPI document (the one `GET /openapi.json` serves),
//! without starting anything. `web/scripts/gen-api.sh` generates the dashboard's API types from it.

use std::process::ExitCode;

pub fn run() -> ExitCode {
    println!("{}", shared::http::openapi::json());
    ExitCode::SUCCESS
}
